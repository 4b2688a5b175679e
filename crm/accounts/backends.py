"""Django's model backend, with a user's access read in one query.

Every page asks four things of the signed-in user: their own permissions, their groups'
permissions (Django's backend: two queries), their groups' names, the roles that pick the menu (one
more), and their team, the users whose portfolios they see (crm.common.scopes: one more).
`load_access` reads all four with one statement and fills the caches Django's backend,
`crm.accounts.roles.roles_of` and `crm.common.scopes.scope_for` look in, so each request pays one
query for them, not four."""

from django.contrib.auth import backends, get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from crm.common.scopes import team_sql

CACHES = ("_user_perm_cache", "_group_perm_cache", "_crm_roles", "_crm_team")


def _access_sql() -> str:
    """(kind, name, app_label, codename) rows: 'perm' for the user's own permissions, 'role' for
    each group with each of its permissions (a group without any still names a role: LEFT JOIN),
    'team' with the id of each user in the team."""
    user_model = get_user_model()
    own = user_model.user_permissions.through._meta.db_table
    member = user_model.groups.through._meta.db_table
    granted = Group.permissions.through._meta.db_table
    permission, content_type = Permission._meta.db_table, ContentType._meta.db_table
    group = Group._meta.db_table
    return f"""
    WITH RECURSIVE {team_sql()}
    SELECT 'perm' AS kind, '' AS name, ct.app_label, p.codename
    FROM {own} o JOIN {permission} p ON p.id = o.permission_id
    JOIN {content_type} ct ON ct.id = p.content_type_id
    WHERE o.user_id = %(user)s
    UNION ALL
    SELECT 'role', g.name, ct.app_label, p.codename
    FROM {member} m JOIN {group} g ON g.id = m.group_id
    LEFT JOIN {granted} gp ON gp.group_id = g.id
    LEFT JOIN {permission} p ON p.id = gp.permission_id
    LEFT JOIN {content_type} ct ON ct.id = p.content_type_id
    WHERE m.user_id = %(user)s
    UNION ALL
    SELECT 'team', CAST(id AS VARCHAR(20)), NULL, NULL FROM team
    """  # noqa: S608 - table names from the models, the user's id bound  # nosec B608


def load_access(user) -> None:
    """Fill `user`'s permission caches, `_crm_roles` and `_crm_team` (one query; nothing when
    already filled)."""
    if all(hasattr(user, name) for name in CACHES):
        return
    user_perms: set[str] = set()
    group_perms: set[str] = set()
    roles: set[str] = set()
    team: set[int] = set()
    with connection.cursor() as cursor:
        cursor.execute(_access_sql(), {"user": user.pk})
        rows = cursor.fetchall()
    for kind, name, app_label, codename in rows:
        if kind == "perm":
            user_perms.add(f"{app_label}.{codename}")
        elif kind == "role":
            roles.add(name)
            if codename is not None:
                group_perms.add(f"{app_label}.{codename}")
        else:
            team.add(int(name))
    user._user_perm_cache = user_perms
    user._group_perm_cache = group_perms
    user._crm_roles = roles
    user._crm_team = team


class ModelBackend(backends.ModelBackend):
    def _get_permissions(self, user_obj, obj, from_name):
        # Superusers hold every permission and need no lookup; Django's backend answers them.
        if user_obj.is_active and not user_obj.is_anonymous and obj is None and not user_obj.is_superuser:
            load_access(user_obj)
        return super()._get_permissions(user_obj, obj, from_name)
