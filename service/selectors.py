"""Reads of one-stop service, and who may see which request (written once, service.md):

- administrators and integration clients (`accounts.see_all_data`) see every request;
- department staff see the requests that have (or had) a stage of their department;
- everyone else sees the requests owned by someone in their scope (themselves and their team), and
  a supervisor also the requests no manager could take in the stations their team serves."""

from django.db.models import Exists, OuterRef, Q

from crm.accounts.roles import DEPARTMENT_STAFF, roles_of
from crm.common.scopes import scope_for
from managers.models import Manager


def staff_department_id(user) -> int | None:
    """The department of a department staff user (cached on the user for the request). Only a user
    holding the role is asked (the roles are read with the permissions already), so the pages of
    every other role pay no query for it."""
    if not getattr(user, "is_authenticated", False) or DEPARTMENT_STAFF not in roles_of(user):
        return None
    if not hasattr(user, "_crm_department_id"):
        from service.models import StaffProfile

        user._crm_department_id = (
            StaffProfile.objects.filter(user_id=user.pk).values_list("department_id", flat=True).first()
        )
    return user._crm_department_id


def requests_visible_to(queryset, user):
    from service.models import RequestStage

    scope = scope_for(user)
    if scope.sees_all:
        return queryset
    department_id = staff_department_id(user)
    visible = Q(owner_id__in=scope.user_ids)
    if department_id is not None:
        visible |= Q(
            Exists(RequestStage.objects.filter(request_id=OuterRef("pk"), department_id=department_id))
        )
    if len(scope.user_ids) > 1:  # leads a team: also what nobody could take in the team's stations
        stations = Manager.objects.filter(user_id__in=scope.user_ids).values("station_id")
        visible |= Q(owner__isnull=True, station_id__in=stations)
    return queryset.filter(visible)
