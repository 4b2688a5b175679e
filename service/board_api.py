"""`GET sla-board/` (api.md): the stages and the requests at warning or breached as of now, with how
late (or the time left before a clock at warning is due) in the clock's own unit, and their counts
by station and by department; `?station=&department=` filter both. Scoped like every list
(ServiceRequest.objects.visible_to, through service.sla.board_for).

The list is paginated as every list of the API: the stages first (soonest due first), then the
whole requests' clocks; the page's `count` is the sum of the counts the board has already made,
so a page costs the same queries whatever the data size."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError

from crm.common.fields import MAX_ID
from service.models import ServiceRequest, SlaState, Unit
from service.sla import board_for, board_items


class BoardQuery(forms.Form):
    station = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    department = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)


class _Clocks:
    """The board's stages then its requests as one sequence a paginator can slice: a slice reads
    only the rows it needs, and the length comes from the board's counts (no COUNT query)."""

    def __init__(self, board):
        self.board = board
        self.stage_count = board.stage_total

    def __len__(self) -> int:
        return self.stage_count + self.board.request_total

    def __getitem__(self, window: slice) -> list[dict]:
        start, stop = window.start or 0, window.stop
        stages = self.board.stages[start : min(stop, self.stage_count)] if start < self.stage_count else []
        first = max(0, start - self.stage_count)
        requests = self.board.requests[first : stop - self.stage_count] if stop > self.stage_count else []
        stage_items, request_items = board_items(self.board, stages=stages, requests=requests)
        return stage_items + request_items


class ClockSerializer(serializers.Serializer):
    clock = serializers.ChoiceField(
        choices=[("stage", _("a stage")), ("request", _("the whole request"))],
        help_text=_("Whose clock: a stage's own limit, or the request's total."),
    )
    request = serializers.IntegerField()
    number = serializers.CharField(allow_null=True)
    stage = serializers.IntegerField(allow_null=True)
    stage_code = serializers.CharField(allow_null=True)
    stage_name = serializers.CharField(allow_null=True)
    station = serializers.IntegerField()
    department = serializers.IntegerField(allow_null=True)
    owner = serializers.IntegerField(allow_null=True)
    due_at = serializers.DateTimeField()
    unit = serializers.ChoiceField(choices=Unit.choices)
    sla_state = serializers.ChoiceField(choices=SlaState.choices, help_text=_("The state as of now."))
    stored_sla_state = serializers.ChoiceField(
        choices=SlaState.choices, help_text=_("The state the SLA job last wrote.")
    )
    late = serializers.BooleanField(help_text=_("True: past due by `minutes`; false: `minutes` left."))
    minutes = serializers.IntegerField(help_text=_("Counted minutes in the clock's unit (working time)."))
    text = serializers.CharField(help_text=_("Time left or how late, in the clock's unit and your language."))
    waiting_customer = serializers.BooleanField()
    calendar_missing = serializers.BooleanField()

    def to_representation(self, item):
        request, stage, read = item["request"], item["stage"], item["reading"]
        return super().to_representation(
            {
                "clock": "stage" if stage else "request",
                "request": request.pk,
                "number": request.number,
                "stage": stage.pk if stage else None,
                "stage_code": stage.code if stage else None,
                "stage_name": stage.name if stage else None,
                "station": request.station_id,
                "department": stage.department_id if stage else None,
                "owner": request.owner_id,
                "due_at": item["due_at"],
                "unit": item["unit"],
                "sla_state": item["state"],
                "stored_sla_state": item["stored_state"],
                "late": read.late,
                "minutes": read.minutes,
                "text": read.text,
                "waiting_customer": item["waiting"],
                "calendar_missing": item["calendar_missing"],
            }
        )


STATION_COUNTS = ("stages_warning", "stages_breached", "requests_warning", "requests_breached")


class StationCountsSerializer(serializers.Serializer):
    station = serializers.IntegerField()
    station_name = serializers.CharField()
    stages_warning = serializers.IntegerField()
    stages_breached = serializers.IntegerField()
    requests_warning = serializers.IntegerField()
    requests_breached = serializers.IntegerField()


class DepartmentCountsSerializer(serializers.Serializer):
    department = serializers.IntegerField(allow_null=True, help_text=_("Empty: the owner's own stages."))
    department_name = serializers.CharField()
    warning = serializers.IntegerField()
    breached = serializers.IntegerField()


class BoardPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ClockSerializer(many=True)
    as_of = serializers.DateTimeField()
    by_station = StationCountsSerializer(many=True)
    by_department = DepartmentCountsSerializer(many=True)


ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


@extend_schema(
    responses=BoardPageSerializer,
    parameters=[
        OpenApiParameter("station", ID, description="Supply station id."),
        OpenApiParameter("department", ID, description="Department id."),
        OpenApiParameter(
            "page", {"type": "integer", "minimum": 1}, description="Page number (1 is the first)."
        ),
        OpenApiParameter(
            "page_size", {"type": "integer", "minimum": 1}, description="Rows per page (at most 500)."
        ),
    ],
)
class SlaBoardView(generics.GenericAPIView):
    """Stages and requests at warning or breached as of now, with how late, and the counts by
    station (`by_station`) and by department (`by_department`) beside the page."""

    serializer_class = ClockSerializer
    queryset = ServiceRequest.objects.none()  # for the model permission (view_servicerequest) only
    filter_backends = []

    def get(self, request, *args, **kwargs):
        query = BoardQuery(request.query_params)
        if not query.is_valid():
            raise ValidationError(query.errors)
        board = board_for(
            user=request.user,
            station_id=query.cleaned_data["station"],
            department_id=query.cleaned_data["department"],
            now=timezone.now(),
        )
        page = self.paginate_queryset(_Clocks(board))
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        response.data["as_of"] = serializers.DateTimeField().to_representation(board.now)
        response.data["by_station"] = [
            {
                "station": row["station_id"],
                "station_name": row["station"],
                **{key: row[key] for key in STATION_COUNTS},
            }
            for row in board.by_station
        ]
        response.data["by_department"] = [
            {
                "department": row["department_id"],
                "department_name": str(row["department"]),
                "warning": row["warning"],
                "breached": row["breached"],
            }
            for row in board.by_department
        ]
        return response
