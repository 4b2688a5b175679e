"""Reads of one-stop service, and who may see which request (written once, service.md):

- administrators and integration clients (`accounts.see_all_data`) see every request;
- department staff see the requests that have (or had) a stage of their department, and the call
  centre's staff also the 95598 tickets of their branch, whose callbacks they make;
- everyone else sees the requests owned by someone in their scope (themselves and their team), and
  a supervisor also the requests no manager could take in the stations their team serves."""

from django.db.models import Exists, OuterRef, Q

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
