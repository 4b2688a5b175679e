"""Template tags that put manager information on pages of the apps below (customers may not import
managers, but a template may load any app's tags)."""

from django import template

from managers.models import Assignment
from managers.selectors import home_summary

register = template.Library()

HISTORY_ROWS = 50


@register.inclusion_tag("managers/_assignment_history.html")
def assignment_history(customer):
    """Who served the customer and when, newest first. The caller has already checked that the
    user may see the customer."""
    assignments = list(
        Assignment.objects.filter(customer=customer).select_related("manager", "by")[: HISTORY_ROWS + 1]
    )
    return {
        "customer": customer,
        "assignments": assignments[:HISTORY_ROWS],
        "truncated": len(assignments) > HISTORY_ROWS,
    }


@register.inclusion_tag("home_summary.html", takes_context=True)
def home_dashboard(context):
    """The home page's figures for the signed-in user (see managers.selectors.home_summary)."""
    return {"summary": home_summary(context["request"].user), "request": context["request"]}
