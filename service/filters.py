"""The filters of the request list (api.md `service-requests/`), with the house semantics of
crm.common.filters: an id filter takes a whole number, a choice filter one of the documented codes,
anything else answers 400 on the parameter.

`department` keeps the requests that have (or had) a stage of that department, as one EXISTS, so a
request with two stages of the department is listed once. `sla_state` is the state as of now
(service.sla), not what the SLA job last wrote: a request past its due date a minute ago is breached
on the list before the job has run."""

import django_filters
from django.db.models import Exists, OuterRef
from django.utils import timezone

from crm.common.filters import FilterSet, IdFilter
from service import sla
from service.models import Kind, RequestStage, RequestStatus, ServiceRequest, SlaState, Source


class ServiceRequestFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=RequestStatus.choices)
    kind = django_filters.ChoiceFilter(choices=Kind.choices)
    source = django_filters.ChoiceFilter(choices=Source.choices)
    owner = IdFilter(help_text="the owner's user id")
    customer = IdFilter()
    station = IdFilter()
    department = IdFilter(method="filter_department", help_text="requests with a stage of this department")
    sla_state = django_filters.ChoiceFilter(
        choices=SlaState.choices, method="filter_sla_state", help_text="the request's SLA state as of now"
    )
    external_no = django_filters.CharFilter(max_length=40, help_text="the 95598 ticket number")

    class Meta:
        model = ServiceRequest
        fields = [
            "status",
            "kind",
            "source",
            "owner",
            "customer",
            "station",
            "department",
            "sla_state",
            "external_no",
        ]

    def filter_department(self, queryset, name, value):
        stages = RequestStage.objects.filter(request_id=OuterRef("pk"), department_id=value)
        return queryset.filter(Exists(stages))

    def filter_sla_state(self, queryset, name, value):
        return queryset.filter(sla.sla_now_q(value, timezone.now()))
