"""The role groups hold exactly the permissions of crm/accounts/roles.py, no more and no fewer."""

from django.contrib.auth.models import Group, Permission

from crm.accounts import roles


def _codenames(group: Group) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
    }


def test_syncing_the_role_groups_takes_away_a_permission_the_role_no_longer_has(db):
    # Given the account managers' group holding a permission the role does not list
    group = Group.objects.get(name=roles.ACCOUNT_MANAGER)
    extra = Permission.objects.get(content_type__app_label="customers", codename="delete_customer")
    group.permissions.add(extra)
    # When the groups are synced (as after every migrate)
    roles.sync_role_groups()
    # Then the group holds exactly the role's list again
    assert _codenames(group) == set(roles.ROLE_PERMISSIONS[roles.ACCOUNT_MANAGER])


def test_syncing_the_role_groups_gives_back_a_permission_the_group_lost(db):
    # Given the supervisors' group without one of its role's permissions
    group = Group.objects.get(name=roles.SUPERVISOR)
    group.permissions.remove(Permission.objects.get(codename="add_assignment"))
    # When the groups are synced
    roles.sync_role_groups()
    # Then it has it again, and nothing else changed
    assert _codenames(group) == set(roles.ROLE_PERMISSIONS[roles.SUPERVISOR])
