"""Django's model backend, with a user's access read in one query.

Every page asks three things of the signed-in user: their own permissions, their groups'
permissions (Django's backend: two queries) and their groups' names, the roles that pick the menu
(one more). `load_access` reads all three with one UNION ALL and fills the caches Django's backend
and `crm.accounts.roles.roles_of` look in, so each request pays one query for them, not three."""

from django.contrib.auth import backends
from django.contrib.auth.models import Group, Permission
from django.db.models import CharField, Value


def load_access(user) -> None:
    """Fill `user`'s permission caches and `_crm_roles` (one query; nothing when already filled)."""
    if all(hasattr(user, name) for name in ("_user_perm_cache", "_group_perm_cache", "_crm_roles")):
        return
    own = (
        Permission.objects.filter(user=user)
        .annotate(role=Value("", output_field=CharField()))
        .values_list("role", "content_type__app_label", "codename")
        .order_by()
    )
    # A group without permissions still names a role: its one row has no permission (LEFT JOIN).
    through_groups = (
        Group.objects.filter(user=user)
        .values_list("name", "permissions__content_type__app_label", "permissions__codename")
        .order_by()
    )
    user_perms: set[str] = set()
    group_perms: set[str] = set()
    roles: set[str] = set()
    for role, app_label, codename in own.union(through_groups, all=True):
        if not role:
            user_perms.add(f"{app_label}.{codename}")
            continue
        roles.add(role)
        if codename is not None:
            group_perms.add(f"{app_label}.{codename}")
    user._user_perm_cache = user_perms
    user._group_perm_cache = group_perms
    user._crm_roles = roles


class ModelBackend(backends.ModelBackend):
    def _get_permissions(self, user_obj, obj, from_name):
        # Superusers hold every permission and need no lookup; Django's backend answers them.
        if user_obj.is_active and not user_obj.is_anonymous and obj is None and not user_obj.is_superuser:
            load_access(user_obj)
        return super()._get_permissions(user_obj, obj, from_name)
