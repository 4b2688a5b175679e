"""`{% visit_history customer %}`: the customer's visits on the customer page, in two queries (the
tasks with their reports, then the reports' follow-ups)."""

from django import template
from django.db.models import Prefetch, prefetch_related_objects

from visits.models import FollowUp, VisitTask

register = template.Library()


@register.inclusion_tag("visits/_history.html", takes_context=True)
def visit_history(context, customer, limit: int = 12):
    user = context["request"].user
    tasks = list(
        VisitTask.objects.visible_to(user)
        .filter(customer=customer)
        .select_related("report", "manager")
        .order_by("-due_date", "-id")[:limit]
    )
    # The reports came with their tasks; their follow-ups are one more query for all of them.
    reports = [t.report for t in tasks if hasattr(t, "report")]
    prefetch_related_objects(reports, Prefetch("follow_ups", queryset=FollowUp.objects.order_by("id")))
    for task in tasks:
        task.report_full = getattr(task, "report", None)
    return {
        "tasks": tasks,
        "customer": customer,
        "request": context["request"],
        "perms": context.get("perms"),
    }
