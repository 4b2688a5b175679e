"""REST endpoints of forecasts (api.md): a customer's baselines, the forecast scores, the industry
trends and the baseline runs. Views translate HTTP to selector and service calls."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.common import hooks
from crm.common.fields import MAX_ID
from crm.common.permissions import model_permissions
from customers.models import Customer
from forecasts.baselines import baseline_run_start, current_month
from forecasts.industries import section_label
from forecasts.models import Baseline, BaselineRun
from forecasts.scoring import GROUPINGS, forecast_scores
from forecasts.selectors import baselines_of, industry_trends
from forecasts.services import may_read_trends
from forecasts.tasks import compute_baselines_task
from visits.models import VisitReport


# ---------------------------------------------------------------- a customer's baselines
class BaselineSerializer(serializers.ModelSerializer):
    monthly = serializers.ListField(
        child=serializers.DecimalField(max_digits=14, decimal_places=2), read_only=True
    )

    class Meta:
        model = Baseline
        fields = ["made_for", "method", "monthly", "total_kwh_12m", "months_used", "created_at"]
        read_only_fields = fields


class CustomerForecastsView(generics.ListAPIView):
    """customers/{id}/forecasts/: the customer's baselines, newest first (the model before the
    seasonal naive of the same month). A customer with no metered month has none."""

    serializer_class = BaselineSerializer
    permission_classes = [IsAuthenticated, model_permissions(Baseline)]
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Baseline.objects.none()
        customer = get_object_or_404(Customer.objects.visible_to(self.request.user), pk=self.kwargs["pk"])
        return baselines_of(user=self.request.user, customer_id=customer.pk)


# ---------------------------------------------------------------- scores
class ScoresQuery(serializers.Serializer):
    manager = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    station = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    year = serializers.IntegerField(required=False, min_value=2000, max_value=2100)
    group_by = serializers.ChoiceField(choices=GROUPINGS, required=False, default="manager")


class ScoreSerializer(serializers.Serializer):
    key = serializers.IntegerField(allow_null=True, help_text=gettext_lazy("The manager, station or year."))
    label = serializers.CharField()
    scored = serializers.IntegerField()
    waiting = serializers.IntegerField(
        help_text=gettext_lazy("Forecasts whose 12 months are not all metered yet.")
    )
    no_baseline = serializers.IntegerField()
    manager_mape = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)
    baseline_mape = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)
    fva_pp = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)
    beat_share = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)
    wape = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)
    bias_pct = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)


def _score_row(score) -> dict:
    return {"key": score.key, "label": score.label, **score.as_dict()}


class ScoresAnswerSerializer(serializers.Serializer):
    """What forecast-scores/ answers (the schema's word for it; the view builds it by hand)."""

    results = ScoreSerializer(many=True, help_text="one row per manager, station or year")
    total = ScoreSerializer(help_text="all of them together")


@extend_schema(parameters=[ScoresQuery], responses={200: ScoresAnswerSerializer})
class ForecastScoresView(APIView):
    """forecast-scores/: the managers' forecasts in the caller's scope scored against the metered
    year and the baseline current at the visit, per manager (or `group_by=station|year`), best
    forecast value added first; `total` is all of them together."""

    permission_classes = [IsAuthenticated, model_permissions(VisitReport)]

    def get(self, request):
        query = ScoresQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        args = query.validated_data
        scores = forecast_scores(
            user=request.user,
            manager_id=args.get("manager"),
            station_id=args.get("station"),
            year=args.get("year"),
            group_by=args["group_by"],
        )
        return Response(
            {
                "results": ScoreSerializer([_score_row(s) for s in scores.groups], many=True).data,
                "total": ScoreSerializer(_score_row(scores.total)).data,
            }
        )


# ---------------------------------------------------------------- industry trends
class ReadsTrends(BasePermission):
    """Supervisors, the marketing head and administrators (forecasting.md)."""

    def has_permission(self, request, view):
        return may_read_trends(request.user)


class TrendsQuery(serializers.Serializer):
    station = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    industry = serializers.RegexField(r"^[A-Za-z]([0-9]{2})?$", required=False, max_length=3)


class TrendSerializer(serializers.Serializer):
    section = serializers.CharField(source="key")
    label = serializers.SerializerMethodField()
    station = serializers.IntegerField(source="station_id", allow_null=True)
    metered = serializers.ListField(child=serializers.DecimalField(max_digits=20, decimal_places=0))
    baseline = serializers.ListField(child=serializers.DecimalField(max_digits=20, decimal_places=0))
    managers = serializers.ListField(child=serializers.DecimalField(max_digits=20, decimal_places=0))
    forecast_customers = serializers.IntegerField()

    def get_label(self, trend) -> str:
        return section_label(trend.key) if trend.key else ""


class TrendsAnswerSerializer(serializers.Serializer):
    """What industry-trends/ answers (the schema's word for it; the view builds it by hand)."""

    made_for = serializers.CharField(help_text="the first forecast month, YYYY-MM")
    metered_from = serializers.CharField(help_text="the first metered month, YYYY-MM")
    results = TrendSerializer(many=True, help_text="one row per industry and station")
    sections = TrendSerializer(many=True, help_text="one row per industry section")
    total = TrendSerializer(help_text="the whole scope")


@extend_schema(parameters=[TrendsQuery], responses={200: TrendsAnswerSerializer})
class IndustryTrendsView(APIView):
    """industry-trends/: per industry section (C by division) and station, the 24 months metered
    (`metered_from` on) and the 12 forecast from `made_for` by the baselines and with the managers'
    forecasts where they made one (`managers`)."""

    permission_classes = [IsAuthenticated, ReadsTrends]

    def get(self, request):
        query = TrendsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        args = query.validated_data
        trends = industry_trends(
            user=request.user, station_id=args.get("station"), industry=args.get("industry", "")
        )
        return Response(
            {
                "made_for": f"{trends.made_for:%Y-%m}",
                "metered_from": f"{trends.first_metered:%Y-%m}",
                "results": TrendSerializer(trends.rows, many=True).data,
                "sections": TrendSerializer(trends.sections, many=True).data,
                "total": TrendSerializer(trends.total).data,
            }
        )


# ---------------------------------------------------------------- runs
class BaselineRunSerializer(serializers.ModelSerializer):
    duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = BaselineRun
        fields = [
            "id",
            "status",
            "trigger",
            "made_for",
            "started_by",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
            "seasonal_naive",
            "theta",
            "no_history",
            "chunks_done",
            "last_pk",
            "max_pk",
            "error",
        ]
        read_only_fields = fields

    def get_duration_seconds(self, run) -> float | None:
        return run.duration.total_seconds() if run.duration is not None else None


class BaselineRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Baseline runs: POST computes this month's baselines now (202, the run to poll); a run of the
    month already waiting or running is returned instead of a second."""

    queryset = BaselineRun.objects.all()
    serializer_class = BaselineRunSerializer
    filterset_fields = ["status", "trigger"]
    ordering_fields = ["created_at", "started_at"]

    @extend_schema(request=None, responses={202: BaselineRunSerializer})
    def create(self, request):
        run, created = baseline_run_start(
            made_for=current_month(), trigger=BaselineRun.Trigger.MANUAL, by=request.user
        )
        if created:
            hooks.send_after_commit(compute_baselines_task, run.pk)
        return Response(self.get_serializer(run).data, status=status.HTTP_202_ACCEPTED)
