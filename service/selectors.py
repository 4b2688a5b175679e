"""Reads of one-stop service, and who may see which request (written once, service.md):

- administrators and integration clients (`accounts.see_all_data`) see every request;
- department staff see the requests that have (or had) a stage of their department, and the call
  centre's staff also the 95598 tickets of their branch, whose callbacks they make;
- everyone else sees the requests owned by someone in their scope (themselves and their team), and
  a supervisor also the requests no manager could take in the stations their team serves."""

from django.db.models import Case, Count, Exists, F, OuterRef, Q, Subquery, Value, When, Window
from django.utils import timezone

from crm.accounts.roles import DEPARTMENT_STAFF, roles_of
from crm.common.scopes import scope_for
from managers.models import Manager


def staff_department(user) -> tuple[int, str, int] | None:
    """(id, kind, branch id) of a department staff user's department, cached on the user for the
    request. Only a user holding the role is asked (the roles are read with the permissions
    already), so the pages of every other role pay no query for it."""
    if not getattr(user, "is_authenticated", False) or DEPARTMENT_STAFF not in roles_of(user):
        return None
    if not hasattr(user, "_crm_department"):
        from service.models import StaffProfile

        user._crm_department = (
            StaffProfile.objects.filter(user_id=user.pk)
            .values_list("department_id", "department__kind", "department__branch_id")
            .first()
        )
    return user._crm_department


def staff_department_id(user) -> int | None:
    department = staff_department(user)
    return department[0] if department else None


def requests_visible_to(queryset, user):
    from service.models import DepartmentKind, RequestStage, Source

    scope = scope_for(user)
    if scope.sees_all:
        return queryset
    department = staff_department(user)
    visible = Q(owner_id__in=scope.user_ids)
    if department is not None:
        department_id, kind, branch_id = department
        visible |= Q(
            Exists(RequestStage.objects.filter(request_id=OuterRef("pk"), department_id=department_id))
        )
        if kind == DepartmentKind.CALL_CENTRE:
            # the call centre calls back the customers of the tickets it took (回访), in its branch
            visible |= Q(source=Source.CALL_CENTRE, station__branch_id=branch_id)
    if len(scope.user_ids) > 1:  # leads a team: also what nobody could take in the team's stations
        stations = Manager.objects.filter(user_id__in=scope.user_ids).values("station_id")
        visible |= Q(owner__isnull=True, station_id__in=stations)
    return queryset.filter(visible)


# ---------------------------------------------------------------- a manager's home
def owned_requests_for(*, user, owner_id: int, rows: int, now=None) -> tuple[list, int]:
    """The open requests `owner_id` carries (in `user`'s scope), breached first, then at warning,
    then the rest, each group soonest due first, with their SLA state as of now (`sla_now`) and the
    name of their current stage (`stage_name`): the first `rows` and how many there are, in one
    query (the count is a window over the same rows)."""
    from service.models import RequestStage, ServiceRequest, SlaState, StageStatus
    from service.sla import with_sla_now

    current = RequestStage.objects.filter(
        request_id=OuterRef("pk"), status__in=[StageStatus.ACTIVE, StageStatus.WAITING_CUSTOMER]
    ).order_by("position")
    requests = (
        with_sla_now(
            ServiceRequest.objects.visible_to(user).active().filter(owner_id=owner_id),
            now or timezone.now(),
        )
        .annotate(
            severity=Case(
                When(sla_now=SlaState.BREACHED, then=Value(0)),
                When(sla_now=SlaState.WARNING, then=Value(1)),
                default=Value(2),
            ),
            stage_name=Subquery(current.values("name")[:1]),
            total=Window(Count("id")),
        )
        .select_related("customer")
        .order_by("severity", F("due_at").asc(nulls_last=True), "id")
    )
    found = list(requests[:rows])
    return found, (found[0].total if found else 0)


def plain_follow_ups_for(*, user, manager_id: int, rows: int) -> tuple[list, int]:
    """The open follow-ups of the manager's visit reports that no request carries (those for
    "other", or on a community's visit: the manager chases them by hand; a follow-up that became a
    request is on the home with the request's clock), oldest visit first: the first `rows` and how
    many there are, in one query."""
    from visits.models import FollowUp

    follow_ups = (
        FollowUp.objects.visible_to(user)
        .waiting()
        .filter(report__task__manager_id=manager_id, service_request__isnull=True)
        .annotate(total=Window(Count("id")))
        .select_related(
            "report__task__customer", "report__task__community", "report__task__transformer_district"
        )
        .order_by("report__visited_on", "id")
    )
    found = list(follow_ups[:rows])
    return found, (found[0].total if found else 0)
