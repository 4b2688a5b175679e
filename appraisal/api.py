"""REST endpoints of the yearly appraisal (api.md): `appraisal-cycles/` with `open/` and
`finalize/`, `appraisals/` with `panel/`, `scores/`, `submit/`, `finalize/` and `reopen/`.

Views translate HTTP to service calls (appraisal.services holds every rule and answers a wrong state
with 409); what a user sees is Appraisal.objects.visible_to (out of scope: 404). Reading needs the
view permissions every role holds; scoring needs nothing more than a seat on the panel. A panel
member who does not run the appraisal reads their own seat only, and no result (appraisal.visibility)."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import ChoiceFilter
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from appraisal import scoring, selectors, services
from appraisal.links import link_token
from appraisal.models import (
    Appraisal,
    AppraisalCycle,
    AppraisalStatus,
    Criterion,
    CycleStatus,
    Grade,
    Rater,
    RaterKind,
)
from appraisal.visibility import RESULT_FIELDS, ResultOrdering, results_shown, with_shown_results
from crm.common.fields import ModelSerializer, PrimaryKeyRelatedField, ScopedPrimaryKeyRelatedField
from crm.common.filters import FILTER_BACKENDS, FilterSet, IdFilter, SearchFilter, YearFilter
from crm.common.permissions import ModelPermissions
from managers.models import Manager

User = get_user_model()


def requires(*perms: str) -> type[permissions.BasePermission]:
    """A permission class for an action: the user holds every one of `perms` (the service then
    checks the user's rights on the object itself)."""

    class _Requires(permissions.BasePermission):
        def has_permission(self, request, view):
            return bool(request.user and request.user.is_authenticated and request.user.has_perms(perms))

    _Requires.__name__ = "Requires_" + "_".join(p.split(".")[-1] for p in perms)
    return _Requires


ID = r"[0-9]{1,18}"  # longer numbers cannot be ids
CAN_VIEW = requires("appraisal.view_appraisal")
CAN_WORK = requires("appraisal.view_appraisal", "appraisal.change_appraisal")


# ---------------------------------------------------------------- cycles
class CriterionSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=200)
    weight = serializers.IntegerField(min_value=0, max_value=100, help_text="percent; the weights sum to 100")


class RaterWeightsSerializer(serializers.Serializer):
    supervisor = serializers.IntegerField(min_value=0, max_value=100)
    customer_representative = serializers.IntegerField(min_value=0, max_value=100)
    collaborator = serializers.IntegerField(min_value=0, max_value=100)


class AppraisalCycleSerializer(ModelSerializer):
    status = serializers.ChoiceField(choices=CycleStatus.choices, read_only=True)
    criteria = CriterionSerializer(
        many=True,
        required=False,
        help_text=gettext_lazy("Left out: the defaults of domain.md. Only while the cycle is a draft."),
    )
    rater_weights = RaterWeightsSerializer(
        required=False, help_text=gettext_lazy("Percent per rater kind; they sum to 100.")
    )

    class Meta:
        model = AppraisalCycle
        fields = [
            "id",
            "year",
            "status",
            "criteria",
            "rater_weights",
            "link_valid_days",
            "opened_at",
            "opened_by",
            "evidence_computed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["opened_at", "opened_by", "evidence_computed_at", "created_at", "updated_at"]
        extra_kwargs = {
            "link_valid_days": {"required": False, "min_value": 1, "max_value": 365},
            # the service's bounds, declared so that the schema states them
            "year": {"min_value": services.MIN_YEAR, "max_value": services.MAX_YEAR},
        }
        validators = []  # one cycle per year: the service answers it on the `year` field

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["criteria"] = [
            {"code": c.code, "name": c.name, "weight": c.weight}
            for c in sorted(instance.criteria.all(), key=lambda c: (c.position, c.code))
        ]
        return data

    def validate_year(self, year):
        if self.instance is not None and year != self.instance.year:
            raise serializers.ValidationError(_("The year of a cycle cannot change."))
        return year

    def _arguments(self, validated_data) -> dict:
        criteria = validated_data.get("criteria")
        weights = validated_data.get("rater_weights")
        return {
            "criteria": [dict(c) for c in criteria] if criteria is not None else None,
            "rater_weights": dict(weights) if weights is not None else None,
            "link_valid_days": validated_data.get("link_valid_days"),
            "by": self.context["request"].user,
        }

    def create(self, validated_data):
        return services.cycle_create(year=validated_data["year"], **self._arguments(validated_data))

    def update(self, instance, validated_data):
        return services.cycle_update(cycle=instance, **self._arguments(validated_data))


class CycleOpenedSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="appraisals created")
    cycle = AppraisalCycleSerializer()


class CycleFinalizedSerializer(serializers.Serializer):
    finalized = serializers.IntegerField(help_text="appraisals finalized")


class AppraisalCycleViewSet(viewsets.ModelViewSet):
    """One cycle per year with its criteria and rater-kind weights. Administrators create and edit
    them (criteria and weights only while draft) and open them; `open/` gives every active manager
    an appraisal in scoring with their supervisor on the panel. `finalize/` finalizes every
    appraisal of the caller's team that is under review."""

    serializer_class = AppraisalCycleSerializer
    filter_backends = FILTER_BACKENDS
    lookup_value_regex = ID
    filterset_fields = ["status", "year"]
    ordering_fields = ["year"]

    def get_queryset(self):
        return (
            AppraisalCycle.objects.visible_to(self.request.user)
            .prefetch_related(Prefetch("criteria", queryset=Criterion.objects.order_by("position", "code")))
            .order_by("-year")
        )

    def perform_destroy(self, instance):
        services.cycle_delete(cycle=instance, by=self.request.user)

    @extend_schema(request=None, responses={200: CycleOpenedSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def open(self, request, pk=None):
        cycle = self.get_object()
        created = services.cycle_open(cycle=cycle, by=request.user)
        cycle = self.get_queryset().get(pk=cycle.pk)
        context = self.get_serializer_context()
        return Response({"created": created, "cycle": AppraisalCycleSerializer(cycle, context=context).data})

    @extend_schema(request=None, responses={200: CycleFinalizedSerializer})
    @action(detail=True, methods=["post"], filter_backends=[], permission_classes=[CAN_WORK])
    def finalize(self, request, pk=None):
        cycle = self.get_object()
        return Response({"finalized": services.appraisals_finalize(cycle=cycle, by=request.user)})


# ---------------------------------------------------------------- appraisals
HIDDEN = "null for a panel member who does not run the appraisal"


def _decimal_map(raw: dict, keys) -> dict:
    return {key: (Decimal(raw[key]) if raw.get(key) is not None else None) for key in keys}


class AppraisalSerializer(ModelSerializer):
    cycle = PrimaryKeyRelatedField(queryset=AppraisalCycle.objects.all())
    manager = ScopedPrimaryKeyRelatedField(
        queryset=Manager.objects.all(), help_text="the manager's user id (within the caller's scope)"
    )
    year = serializers.IntegerField(source="cycle.year", read_only=True)
    manager_name = serializers.CharField(source="manager.user.display_name", read_only=True)
    status = serializers.ChoiceField(choices=AppraisalStatus.choices, read_only=True)
    grade = serializers.ChoiceField(
        choices=Grade.choices, read_only=True, allow_blank=True, allow_null=True, help_text=HIDDEN
    )
    reward = serializers.SerializerMethodField(help_text=f"the reward the grade suggests; {HIDDEN}")
    score = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text=f"weighted final score, rounded half up to 2 decimals once at the end; {HIDDEN}",
    )
    evidence = serializers.DictField(read_only=True, help_text="metric key -> value; see appraisal.evidence")
    kind_scores = serializers.SerializerMethodField(
        help_text=f"mean score per rater kind (null: nobody scored); {HIDDEN}"
    )
    effective_weights = serializers.SerializerMethodField(
        help_text=f"rater-kind weights after a missing kind's weight was shared out; {HIDDEN}"
    )
    missing_kinds = serializers.SerializerMethodField(
        help_text=f"kinds whose weight was shared out; {HIDDEN}"
    )

    class Meta:
        model = Appraisal
        fields = [
            "id",
            "cycle",
            "year",
            "manager",
            "manager_name",
            "status",
            "evidence",
            "evidence_computed_at",
            "score",
            "grade",
            "reward",
            "kind_scores",
            "effective_weights",
            "missing_kinds",
            "finalized_at",
            "finalized_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "evidence_computed_at",
            "finalized_at",
            "finalized_by",
            "created_at",
            "updated_at",
        ]
        validators = []  # one per manager and cycle: the service answers it on `manager`

    # The types say "or null": to_representation nulls them for a viewer who may not read them.
    def get_reward(self, appraisal) -> str | None:
        return str(scoring.REWARD_FOR_GRADE[appraisal.grade]) if appraisal.grade else ""

    def get_kind_scores(self, appraisal) -> dict[str, float | None] | None:
        return _decimal_map(appraisal.kind_scores or {}, RaterKind.values)

    def get_effective_weights(self, appraisal) -> dict[str, float | None] | None:
        return _decimal_map((appraisal.kind_scores or {}).get("_weights", {}), RaterKind.values)

    def get_missing_kinds(self, appraisal) -> list[str] | None:
        return list((appraisal.kind_scores or {}).get("_missing", []))

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not results_shown(self.context["request"].user, instance):
            data.update(dict.fromkeys(RESULT_FIELDS))
        return data

    def create(self, validated_data):
        return services.appraisal_create(
            cycle=validated_data["cycle"], manager=validated_data["manager"], by=self.context["request"].user
        )


class AppraisalFilter(FilterSet):
    cycle = IdFilter()
    manager = IdFilter(help_text="the manager's user id")
    year = YearFilter(field_name="cycle__year", lookup_expr="exact")
    grade = ChoiceFilter(
        field_name="shown_grade",
        choices=Grade.choices,
        help_text="among the appraisals whose grade the caller reads",
    )

    class Meta:
        model = Appraisal
        fields = ["cycle", "year", "manager", "status", "grade"]


class RaterSerializer(ModelSerializer):
    kind = serializers.ChoiceField(choices=RaterKind.choices)
    user = PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="user id (not for a representative)",
    )
    display_name = serializers.CharField(read_only=True)
    link = serializers.SerializerMethodField(
        help_text="a representative's signed link to the scoring page (only for who manages the panel)"
    )
    total = serializers.SerializerMethodField(
        help_text="the rater's weighted total once every criterion is scored"
    )
    scored = serializers.SerializerMethodField(help_text="criteria scored so far")
    deviating = serializers.SerializerMethodField(
        help_text="differs from the panel mean by more than 20 points"
    )

    class Meta:
        model = Rater
        fields = [
            "id",
            "kind",
            "user",
            "name",
            "organisation",
            "display_name",
            "link",
            "link_expires_at",
            "submitted_at",
            "total",
            "scored",
            "deviating",
            "added_by",
            "created_at",
        ]
        read_only_fields = ["link_expires_at", "submitted_at", "added_by", "created_at"]
        extra_kwargs = {"name": {"required": False}, "organisation": {"required": False}}

    def _row(self, rater):
        return self.context.get("rows", {}).get(rater.pk)

    def get_link(self, rater) -> str | None:
        if rater.kind != RaterKind.CUSTOMER_REPRESENTATIVE or not self.context.get("manage"):
            return None
        path = reverse("appraisal:representative", args=[link_token(rater)])
        return self.context["request"].build_absolute_uri(path)

    def get_total(self, rater) -> float | None:
        row = self._row(rater)
        if row is None or row.total is None or not self.context.get("manage"):
            return None
        return scoring.round_score(row.total)

    def get_scored(self, rater) -> int:
        row = self._row(rater)
        return row.scored if row is not None else 0

    def get_deviating(self, rater) -> bool:
        row = self._row(rater)
        return bool(row and row.deviating and self.context.get("manage"))


class ScoreItemSerializer(serializers.Serializer):
    criterion = serializers.CharField(max_length=40, help_text="the criterion's code")
    score = serializers.IntegerField(min_value=0, max_value=100)
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ScoresInSerializer(serializers.Serializer):
    scores = ScoreItemSerializer(many=True, allow_empty=False)


class RaterScoresSerializer(serializers.Serializer):
    rater = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=RaterKind.choices)
    name = serializers.CharField()
    total = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    scores = ScoreItemSerializer(many=True)


class ScoresOutSerializer(serializers.Serializer):
    rater = serializers.IntegerField(allow_null=True, help_text="the caller's seat (null: none)")
    submitted_at = serializers.DateTimeField(allow_null=True, help_text="when the caller's set was complete")
    scores = ScoreItemSerializer(many=True, help_text="the caller's own scores")
    panel = RaterScoresSerializer(
        many=True, help_text="every rater's scores: for the manager's supervisor or an administrator only"
    )


class ReopenSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=100, help_text="recorded in the appraisal's history")


class AppraisalViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Appraisals the caller may see: an administrator all, a supervisor their team's, a panel member
    the appraisals they sit on, a manager their own once finalized. POST adds one by hand (a manager
    who joined after the cycle opened). A finalized appraisal is read-only: writes answer 409. A panel
    member who does not run the appraisal reads no result (score, grade, reward, kind scores: null)."""

    serializer_class = AppraisalSerializer
    filter_backends = [DjangoFilterBackend, SearchFilter, ResultOrdering]
    lookup_value_regex = ID
    filterset_class = AppraisalFilter
    search_fields = ["manager__user__full_name", "manager__user__username", "manager__employee_no"]
    ordering_fields = ["score", "status", "grade", "manager__employee_no", "cycle__year"]

    def get_queryset(self):
        appraisals = Appraisal.objects.visible_to(self.request.user).select_related("cycle", "manager__user")
        return with_shown_results(appraisals, self.request.user).order_by(
            "-cycle__year", "manager__employee_no"
        )

    def _appraisal(self) -> Appraisal:
        appraisal = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        self.check_object_permissions(self.request, appraisal)
        return appraisal

    def _answer(self, appraisal: Appraisal, code=status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().filter(pk=appraisal.pk).first() or appraisal
        return Response(AppraisalSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    # ------------------------------------------------------------ panel
    def _panel_data(self, appraisal: Appraisal):
        _result, rows = selectors.panel_for(appraisal=appraisal)
        manage = services.can_manage(self.request.user, appraisal)
        if not manage:  # a panel member sees their own seat, not who else scores nor how far they got
            rows = [row for row in rows if row.rater.user_id == self.request.user.pk]
        context = {
            **self.get_serializer_context(),
            "rows": {row.rater.pk: row for row in rows},
            "manage": manage,
        }
        return [row.rater for row in rows], context

    @extend_schema(responses={200: RaterSerializer(many=True)}, methods=["GET"])
    @extend_schema(request=RaterSerializer, responses={201: RaterSerializer}, methods=["POST"])
    @action(
        detail=True,
        methods=["get", "post"],
        filter_backends=[],
        pagination_class=None,
        permission_classes=[ModelPermissions],
        queryset=Rater.objects.none(),
    )
    def panel(self, request, pk=None):
        """GET: the panel with each seat's progress (the totals, flags and representatives' links)
        for the manager's supervisor or an administrator; a panel member's own seat only, for a
        panel member who does not run the appraisal. POST: seat a rater: `kind` with `user`,
        or a customer representative's `name` (and `organisation`); the answer carries the link."""
        appraisal = self._appraisal()
        if request.user.pk == appraisal.manager_id:
            raise PermissionDenied(_("Who sat on the panel of your own appraisal is not shown to you."))
        if request.method == "POST":
            serializer = RaterSerializer(data=request.data, context=self.get_serializer_context())
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            rater = services.panel_add(
                appraisal=appraisal,
                kind=data["kind"],
                user=data.get("user"),
                name=data.get("name", ""),
                organisation=data.get("organisation", ""),
                by=request.user,
            )
            raters, context = self._panel_data(appraisal)
            rater = next(r for r in raters if r.pk == rater.pk)
            return Response(RaterSerializer(rater, context=context).data, status=status.HTTP_201_CREATED)
        raters, context = self._panel_data(appraisal)
        return Response(RaterSerializer(raters, many=True, context=context).data)

    def _seat(self, appraisal: Appraisal, rater_id) -> Rater:
        return get_object_or_404(Rater.objects.filter(appraisal=appraisal), pk=rater_id)

    @extend_schema(request=None, responses={204: None})
    @action(
        detail=True,
        methods=["delete"],
        url_path=r"panel/(?P<rater_id>[0-9]{1,18})",
        filter_backends=[],
        permission_classes=[requires("appraisal.view_appraisal", "appraisal.delete_rater")],
    )
    def panel_seat(self, request, pk=None, rater_id=None):
        """Remove a seat (and its scores) while the appraisal is not yet in review."""
        appraisal = self._appraisal()
        services.panel_remove(rater=self._seat(appraisal, rater_id), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: RaterSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path=r"panel/(?P<rater_id>[0-9]{1,18})/reissue",
        filter_backends=[],
        permission_classes=[requires("appraisal.view_appraisal", "appraisal.change_rater")],
    )
    def panel_reissue(self, request, pk=None, rater_id=None):
        """A new link for a customer representative; the old one stops working."""
        appraisal = self._appraisal()
        rater = services.panel_reissue_link(rater=self._seat(appraisal, rater_id), by=request.user)
        raters, context = self._panel_data(appraisal)
        rater = next(r for r in raters if r.pk == rater.pk)
        return Response(RaterSerializer(rater, context=context).data)

    # ------------------------------------------------------------ scores
    def _scores_answer(self, appraisal: Appraisal) -> Response:
        seat = services.rater_seat_for(appraisal=appraisal, user=self.request.user)
        own = []
        if seat is not None:
            own = [
                {"criterion": s.criterion.code, "score": s.score, "comment": s.comment}
                for s in seat.scores.select_related("criterion").order_by(
                    "criterion__position", "criterion__code"
                )
            ]
        panel = []
        if services.can_manage(self.request.user, appraisal):
            # the panel's rows carry every rater's scores: nothing to read a second time
            criteria = selectors.criteria_of(appraisal.cycle_id)
            _result, rows = selectors.panel_for(appraisal=appraisal, criteria=criteria)
            scores = {
                row.rater.pk: [
                    {"criterion": c.code, "score": s.score, "comment": s.comment}
                    for c in criteria
                    if (s := row.scores.get(c.pk)) is not None
                ]
                for row in rows
            }
            panel = [
                {
                    "rater": row.rater.pk,
                    "kind": row.kind,
                    "name": row.name,
                    "total": scoring.round_score(row.total) if row.total is not None else None,
                    "submitted_at": row.rater.submitted_at,
                    "scores": scores.get(row.rater.pk, []),
                }
                for row in rows
            ]
        body = {
            "rater": seat.pk if seat else None,
            "submitted_at": seat.submitted_at if seat else None,
            "scores": own,
            "panel": panel,
        }
        return Response(ScoresOutSerializer(body).data)

    @extend_schema(responses={200: ScoresOutSerializer}, methods=["GET"])
    @extend_schema(request=ScoresInSerializer, responses={200: ScoresOutSerializer}, methods=["POST"])
    @action(
        detail=True,
        methods=["get", "post"],
        filter_backends=[],
        pagination_class=None,
        permission_classes=[CAN_VIEW],
    )
    def scores(self, request, pk=None):
        """The caller's own scores on their panel seat (0-100 per criterion, with a comment); POST
        saves some or all of them while the appraisal is in scoring. The manager's supervisor and
        administrators also read every rater's scores under `panel`."""
        appraisal = self._appraisal()
        if request.method == "POST":
            serializer = ScoresInSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            seat = services.rater_seat_for(appraisal=appraisal, user=request.user)
            if seat is None:
                raise PermissionDenied(_("You have no seat on this appraisal's panel."))
            services.scores_save(
                rater=seat,
                scores=[dict(item) for item in serializer.validated_data["scores"]],
                by=request.user,
            )
        return self._scores_answer(appraisal)

    # ------------------------------------------------------------ workflow
    @extend_schema(request=None, responses={200: AppraisalSerializer})
    @action(detail=True, methods=["post"], filter_backends=[], permission_classes=[CAN_WORK])
    def submit(self, request, pk=None):
        """Scoring -> review (the evidence is computed again)."""
        return self._answer(services.appraisal_submit(appraisal=self._appraisal(), by=request.user))

    @extend_schema(request=None, responses={200: AppraisalSerializer})
    @action(detail=True, methods=["post"], filter_backends=[], permission_classes=[CAN_WORK])
    def finalize(self, request, pk=None):
        """Review -> finalized: read-only from then on; the manager sees it."""
        return self._answer(services.appraisal_finalize(appraisal=self._appraisal(), by=request.user))

    @extend_schema(request=ReopenSerializer, responses={200: AppraisalSerializer})
    @action(detail=True, methods=["post"], filter_backends=[], permission_classes=[CAN_WORK])
    def reopen(self, request, pk=None):
        """Finalized -> review, administrators only, with the reason recorded in the history."""
        appraisal = self._appraisal()
        serializer = ReopenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._answer(
            services.appraisal_reopen(
                appraisal=appraisal, reason=serializer.validated_data["reason"], by=request.user
            )
        )
