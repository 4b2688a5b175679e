from crm.accounts.roles import ADMINISTRATOR, SUPERVISOR, roles_of


def navigation(request):
    """Which menu entries the signed-in user sees."""
    roles = roles_of(getattr(request, "user", None))
    return {
        "nav_is_supervisor": bool(roles & {SUPERVISOR, ADMINISTRATOR}),
        "nav_is_admin": ADMINISTRATOR in roles,
    }
