"""Who may read what of forecasts beyond the scopes (the writes are the baseline runs,
forecasts.baselines)."""

from crm.accounts.roles import leads_a_team
from crm.common.scopes import scope_for


def may_read_trends(user) -> bool:
    """The industry and station trends are for supervisors, the marketing head (who sees the whole
    company) and administrators (forecasting.md), not for an account manager's own few customers."""
    return getattr(user, "is_authenticated", False) and (leads_a_team(user) or scope_for(user).sees_all)
