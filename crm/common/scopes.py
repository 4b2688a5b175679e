"""Who may see what, written once.

A user sees the portfolios of the users in their scope: themselves and everyone below them in the
reporting tree (User.supervisor). Administrators, superusers and integration clients holding
`accounts.see_all_data` see everything. Every queryset's `visible_to(user)` is built on this, so a
list, a detail page, a search, a filter, an export and the API all answer the same question."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model

SEE_ALL_PERMISSION = "accounts.see_all_data"


@dataclass(frozen=True)
class Scope:
    sees_all: bool
    user_ids: frozenset[int]

    def includes(self, user_id: int | None) -> bool:
        return self.sees_all or (user_id is not None and user_id in self.user_ids)


def scope_for(user) -> Scope:
    """The user's scope, computed with one query and cached on the user object for the request."""
    cached = getattr(user, "_crm_scope", None)
    if cached is not None:
        return cached
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        scope = Scope(sees_all=False, user_ids=frozenset())
    elif user.is_superuser or user.has_perm(SEE_ALL_PERMISSION):
        scope = Scope(sees_all=True, user_ids=frozenset())
    else:
        scope = Scope(sees_all=False, user_ids=frozenset(team_user_ids(user.pk)))
    user._crm_scope = scope
    return scope


def team_user_ids(root_id: int) -> set[int]:
    """`root_id` and every user below it in the reporting tree (one query; the staff table is small)."""
    user_model = get_user_model()
    children: dict[int, list[int]] = {}
    for uid, supervisor_id in user_model.objects.filter(supervisor__isnull=False).values_list(
        "pk", "supervisor_id"
    ):
        children.setdefault(supervisor_id, []).append(uid)
    seen = {root_id}
    frontier = [root_id]
    while frontier:
        nxt = []
        for uid in frontier:
            for child in children.get(uid, ()):
                if child not in seen:  # a cycle in bad data must not loop forever
                    seen.add(child)
                    nxt.append(child)
        frontier = nxt
    return seen
