from crm.accounts.roles import ADMINISTRATOR, leads_a_team, roles_of


def navigation(request):
    """Which menu entries the signed-in user sees."""
    user = getattr(request, "user", None)
    return {
        "nav_is_supervisor": leads_a_team(user),
        "nav_is_admin": ADMINISTRATOR in roles_of(user),
    }
