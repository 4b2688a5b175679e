"""Where the pages of the lower apps get what the apps above them hold (crm/common/pages.py says
why): each function here is named in settings.CRM_PAGE_PARTS and returns context for the page's
templates, which only render it. The pages' counterpart of crm/jobs.py; it may see every app."""

from managers.selectors import assignment_history, home_summary
from visits.selectors import visit_history

ASSIGNMENT_ROWS = 50
VISIT_ROWS = 12


def customer_detail(*, request, customer) -> dict:
    """The customer page's visits (templates/visits/_history.html) and who served the customer
    (templates/managers/_assignment_history.html): three queries. The view has checked that the
    user may see the customer."""
    assignments = list(assignment_history(customer=customer)[: ASSIGNMENT_ROWS + 1])
    return {
        "visit_history": {"tasks": visit_history(user=request.user, customer=customer, limit=VISIT_ROWS)},
        "assignment_history": {
            "assignments": assignments[:ASSIGNMENT_ROWS],
            "truncated": len(assignments) > ASSIGNMENT_ROWS,
        },
    }


def home(*, request) -> dict:
    """The home page's figures for the signed-in user (templates/home_summary.html)."""
    return {"summary": home_summary(request.user)}
