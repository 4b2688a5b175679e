"""Who may see what, written once.

A user sees the portfolios of the users in their scope: themselves and everyone below them in the
reporting tree (User.supervisor). Administrators, superusers and integration clients holding
`accounts.see_all_data` see everything. Every queryset's `visible_to(user)` is built on this, so a
list, a detail page, a search, a filter, an export and the API all answer the same question."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection, models

SEE_ALL_PERMISSION = "accounts.see_all_data"


@dataclass(frozen=True)
class Scope:
    sees_all: bool
    user_ids: frozenset[int]

    def includes(self, user_id: int | None) -> bool:
        return self.sees_all or (user_id is not None and user_id in self.user_ids)


def scope_for(user) -> Scope:
    """The user's scope, cached on the user object for the request; no query of its own when the
    permission check before it read the team (crm.accounts.backends.load_access)."""
    cached = getattr(user, "_crm_scope", None)
    if cached is not None:
        return cached
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        scope = Scope(sees_all=False, user_ids=frozenset())
    elif user.is_superuser or user.has_perm(SEE_ALL_PERMISSION):
        scope = Scope(sees_all=True, user_ids=frozenset())
    else:
        # Read with the permissions just above (load_access) when the user came that way.
        team = getattr(user, "_crm_team", None)
        scope = Scope(
            sees_all=False, user_ids=frozenset(team if team is not None else team_user_ids(user.pk))
        )
    user._crm_scope = scope
    return scope


class ScopedQuerySet(models.QuerySet):
    """Rows that belong to a user: `scope_field` is the lookup path from the row to that user's id
    (`"manager_id"`, `"customer__manager_id"`), and `visible_to(user)` keeps the rows whose user is
    in the user's scope. A model seen through another model's rows (a contact through its customer)
    filters on that model's `visible_to` as a subquery instead of subclassing this."""

    scope_field: str  # each subclass names its path

    def visible_to(self, user):
        scope = scope_for(user)
        if scope.sees_all:
            return self
        return self.filter(**{f"{self.scope_field}__in": scope.user_ids})


def team_sql() -> str:
    """A recursive CTE `team(id)`: the user bound as %(user)s and everyone below them in the
    reporting tree. UNION (not UNION ALL) drops ids already reached, so a cycle in bad data ends.
    `crm.accounts.backends.load_access` reads it with the user's permissions, in the same query."""
    table = get_user_model()._meta.db_table
    return f"""team(id) AS (
        SELECT id FROM {table} WHERE id = %(user)s
        UNION
        SELECT u.id FROM {table} u JOIN team t ON u.supervisor_id = t.id
    )"""  # noqa: S608 - a table name from the model, the id bound  # nosec B608


def team_user_ids(root_id: int) -> set[int]:
    """`root_id` and every user below it in the reporting tree (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(f"WITH RECURSIVE {team_sql()} SELECT id FROM team", {"user": root_id})  # noqa: S608  # nosec
        return {row[0] for row in cursor.fetchall()}
