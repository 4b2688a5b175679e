"""work-calendar/ (api.md): the days that differ from the week's pattern, and the years loaded.

- `GET work-calendar/?year=`: the days (of a year), `POST` one day, `DELETE work-calendar/{date}/`;
- `GET work-calendar/years/`: the years loaded and whether next year is; `POST` loads a year from a
  CSV file (multipart `year`, `file`), or declares the days entered by hand complete.

Every signed-in user reads the calendar (public holidays are no secret, and every role's clocks run
on it); writing takes `service.add_calendarday` / `service.delete_calendarday`, which administrators
hold. The rules are in service.calendar; these views translate HTTP to its calls. Registered outside
the router (crm/api.py): the days are keyed by their date, and the seeded years alone are more rows
than one page of a router list."""

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.common.fields import ModelSerializer
from service import calendar as work_calendar
from service.models import CalendarDay, CalendarYear, DayKind

ADD, DELETE = "service.add_calendarday", "service.delete_calendarday"


class CalendarPermission(permissions.BasePermission):
    """Reading for every signed-in user; a write for the holders of its permissions."""

    writes = {"POST": (ADD,), "DELETE": (DELETE,)}
    message = _("Only administrators may change the work calendar.")

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        needed = getattr(view, "write_permissions", self.writes).get(request.method, ())
        return all(request.user.has_perm(name) for name in needed)


class CalendarDaySerializer(ModelSerializer):
    kind = serializers.ChoiceField(
        choices=DayKind.choices,
        help_text="`holiday`: a weekday off; `makeup_workday`: a Saturday or Sunday worked (调休)",
    )
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    class Meta:
        model = CalendarDay
        fields = ["id", "date", "kind", "name", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        # a date entered already answers the service's message, on `date`
        extra_kwargs = {"date": {"validators": []}}

    def create(self, validated_data):
        return work_calendar.calendar_day_add(by=self.context["request"].user, **validated_data)


def _year_of(request) -> int | None:
    raw = request.query_params.get("year", "")
    if raw == "":
        return None
    try:
        return work_calendar.parse_year(raw)
    except DjangoValidationError as exc:
        raise ValidationError({"year": [str(work_calendar.YEAR_RANGE)]}) from exc


@extend_schema_view(
    get=extend_schema(
        summary="Days of the work calendar",
        description="The days that differ from the week's pattern (weekday holidays, weekend make-up "
        "working days), by date; every other Saturday and Sunday rests and every other weekday works.",
        parameters=[
            OpenApiParameter(
                "year",
                {"type": "integer", "minimum": work_calendar.MIN_YEAR, "maximum": work_calendar.MAX_YEAR},
                description="Only this year's days (2000-2100); empty: every day.",
                allow_blank=True,
            )
        ],
    ),
    post=extend_schema(
        summary="Enter a day",
        description="Administrators. A make-up working day must be a Saturday or Sunday and a "
        "holiday a weekday (anything else changes nothing: 400); a date entered already: 400 on "
        "`date`. Running clocks whose deadline the day moves are recomputed.",
    ),
)
class WorkCalendarView(generics.ListCreateAPIView):
    serializer_class = CalendarDaySerializer
    permission_classes = [CalendarPermission]
    filter_backends = []

    def get_queryset(self):
        days = CalendarDay.objects.order_by("date")
        year = _year_of(self.request) if self.request.method == "GET" else None
        if year is not None:
            days = days.filter(date__range=(dt.date(year, 1, 1), dt.date(year, 12, 31)))
        return days


@extend_schema_view(
    get=extend_schema(summary="One day of the work calendar"),
    delete=extend_schema(
        summary="Delete a day",
        description="Administrators. The date reverts to the week's pattern; running clocks whose "
        "deadline it moves are recomputed.",
    ),
)
class WorkCalendarDayView(generics.RetrieveDestroyAPIView):
    serializer_class = CalendarDaySerializer
    permission_classes = [CalendarPermission]
    filter_backends = []
    queryset = CalendarDay.objects.all()

    def get_object(self):
        day = work_calendar.parse_date(self.kwargs["date"])
        found = CalendarDay.objects.filter(date=day).first() if day else None
        if found is None:
            raise NotFound()
        return found

    def perform_destroy(self, instance):
        work_calendar.calendar_day_delete(day=instance, by=self.request.user)


class CalendarYearSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    loaded = serializers.BooleanField(help_text="its days are known; until then Monday to Friday counts")
    source = serializers.ChoiceField(choices=CalendarYear.Source.choices, allow_null=True)
    loaded_by = serializers.CharField(allow_null=True)
    loaded_at = serializers.DateTimeField(allow_null=True)
    days = serializers.IntegerField(help_text="days that differ from the week's pattern")


class YearsStatusSerializer(serializers.Serializer):
    years = CalendarYearSerializer(many=True)
    this_year = serializers.IntegerField()
    this_year_loaded = serializers.BooleanField()
    next_year = serializers.IntegerField()
    next_year_loaded = serializers.BooleanField()


class YearLoadSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=work_calendar.MIN_YEAR, max_value=work_calendar.MAX_YEAR)
    file = serializers.FileField(
        required=False,
        help_text="CSV, UTF-8 or GBK: a header line date,kind,name, then one line per day "
        "(2026-10-10,makeup_workday,国庆节); weekend holidays are skipped; # starts a comment",
    )
    entered_by_hand = serializers.BooleanField(
        default=False, help_text="without a file: the days entered for the year are all of them"
    )

    def validate(self, attrs):
        if bool(attrs.get("file")) == attrs["entered_by_hand"]:
            raise serializers.ValidationError(
                {"file": [_("Send a file, or entered_by_hand=true to declare the days entered complete.")]}
            )
        return attrs


class YearLoadedSerializer(CalendarYearSerializer):
    skipped = serializers.IntegerField(help_text="weekend holidays of the file, which change nothing")


class WorkCalendarYearsView(APIView):
    permission_classes = [CalendarPermission]
    parser_classes = [MultiPartParser, FormParser]
    # loading replaces a year's days: both the adding and the deleting permission
    write_permissions = {"POST": (ADD, DELETE)}

    @extend_schema(summary="Years of the work calendar", responses=YearsStatusSerializer)
    def get(self, request):
        return Response(work_calendar.years_status(today=timezone.localdate()))

    @extend_schema(
        summary="Load a year",
        description="Administrators. With `file`: the year's days are replaced by the file's, at "
        "once (a bad line answers 400 on `file` naming the line, and nothing is written); the year "
        "is loaded from a file. With `entered_by_hand=true`: the days entered one by one are declared "
        "complete. Running clocks whose deadline moves are recomputed; those in the year lose "
        "`calendar_missing`. See docs/work-calendar.md.",
        request={"multipart/form-data": YearLoadSerializer},
        responses={201: OpenApiResponse(YearLoadedSerializer, description="the year, loaded")},
    )
    def post(self, request):
        form = YearLoadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        if data.get("file"):
            loaded = work_calendar.calendar_file_load(
                year=data["year"], data=data["file"].read(work_calendar.MAX_FILE_BYTES + 1), by=request.user
            )
            year, skipped = loaded.year, loaded.skipped
        else:
            year, skipped = work_calendar.calendar_year_mark_entered(year=data["year"], by=request.user), 0
        row = next(
            r
            for r in work_calendar.years_status(today=timezone.localdate())["years"]
            if r["year"] == year.year
        )
        return Response({**row, "skipped": skipped}, status=status.HTTP_201_CREATED)
