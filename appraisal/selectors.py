"""Reads of the appraisal that need more than one chained filter: the supervisor's review table (also
the XLSX export's rows) and a panel with each rater's scores and total. Each
function issues a fixed number of queries whatever the size of the team or panel."""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, QuerySet

from appraisal import scoring
from appraisal.models import (
    Appraisal,
    AppraisalCycle,
    AppraisalStatus,
    Criterion,
    CycleStatus,
    Rater,
    RaterKind,
    Score,
)
from appraisal.results import appraisal_result
from appraisal.visibility import results_shown_filter

# The review's order: by station, then employee number (appraisal.filters sorts otherwise on demand).
REVIEW_ORDER = ("manager__station__code", "manager__employee_no", "pk")
REVIEW_SEAT_FIELDS = (
    *("appraisal_id", "kind", "name", "user_id", "scored", "total", "deviating"),
    *("user__full_name", "user__first_name", "user__last_name", "user__username"),
)


@dataclass
class RaterRow:
    rater: Rater
    kind: str
    name: str
    total: Decimal | None  # exact weighted mean over the criteria; None until every criterion is scored
    scores: dict[int, Score] = field(default_factory=dict)  # criterion id -> the rater's score
    deviating: bool = False
    stored_scored: int | None = None  # the seat's stored count, when its scores are not loaded

    @property
    def scored(self) -> int:
        """Criteria scored so far."""
        return len(self.scores) if self.stored_scored is None else self.stored_scored

    @property
    def not_scored(self) -> bool:
        return self.total is None


@dataclass
class ReviewRow:
    appraisal: Appraisal
    manager: object
    evidence: dict
    evidence_computed_at: object
    kind_scores: dict[str, Decimal | None]
    effective_weights: dict[str, Decimal]
    missing_kinds: list[str]
    score: Decimal | None
    grade: str
    reward: str
    raters: list[RaterRow] = field(default_factory=list)

    @property
    def deviating(self) -> list[RaterRow]:
        return [r for r in self.raters if r.deviating]

    @property
    def not_scored(self) -> list[RaterRow]:
        return [r for r in self.raters if r.not_scored]

    @property
    def status(self) -> str:
        return self.appraisal.status


def criteria_of(cycle: AppraisalCycle | int) -> list[Criterion]:
    """The cycle's criteria in their order (a cycle or its id)."""
    return list(Criterion.objects.filter(cycle=cycle).order_by("position", "code"))


def _panel_rows(appraisal, raters, scores, criteria) -> tuple[scoring.Result, list[RaterRow]]:
    result, totals = appraisal_result(appraisal, raters, scores, criteria)
    deviating = scoring.deviating_raters(totals)
    by_rater: dict[int, dict[int, Score]] = defaultdict(dict)
    for score in scores:
        by_rater[score.rater_id][score.criterion_id] = score
    rows = [
        RaterRow(
            rater=r,
            kind=r.kind,
            name=r.display_name,
            total=totals[r.pk],
            scores=by_rater[r.pk],
            deviating=r.pk in deviating,
        )
        for r in raters
    ]
    return result, rows


def review_appraisals(*, cycle: AppraisalCycle, user) -> QuerySet[Appraisal]:
    """The appraisals of the cycle whose results `user` reads (visibility.results_shown_filter: the
    team they run, within `Appraisal.objects.visible_to(user)`), in the page's order. A seat on
    another team's panel shows that appraisal on its own page, never on the review: its score is
    not the seat holder's to read. One filter on the appraisal's own columns, no join to the panels
    (visible_to's OR over the seats needs a DISTINCT, which at a city's size was most of the page's
    time)."""
    return (
        Appraisal.objects.filter(cycle=cycle)
        .filter(results_shown_filter(user))
        .select_related("cycle", "manager__user", "manager__station")
        .order_by(*REVIEW_ORDER)
    )


def appraisals_in_order(ids: list[int]) -> list[Appraisal]:
    """The appraisals of `ids` (a page of the review, already in its order) whole, in that order."""
    by_pk = Appraisal.objects.select_related("cycle", "manager__user", "manager__station").in_bulk(ids)
    return [by_pk[pk] for pk in ids if pk in by_pk]


def _stored_kind_scores(appraisal: Appraisal) -> tuple[dict, dict, list]:
    """The kind scores, effective weights and missing kinds the services stored on the appraisal;
    one never scored has none stored: every kind with a weight is missing, as the arithmetic says."""
    stored = appraisal.kind_scores or {}
    if not stored:
        weights = appraisal.cycle.rater_weights
        return {k: None for k in weights}, {}, [k for k, w in weights.items() if w > 0]
    scores = {k: _decimal(stored.get(k)) for k in RaterKind.values}
    weights = {k: _decimal(v) for k, v in (stored.get("_weights") or {}).items()}
    return scores, weights, list(stored.get("_missing") or [])


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def review_rows(*, cycle: AppraisalCycle, user, appraisals=None) -> list[ReviewRow]:
    """One row per appraisal of the cycle `user` may see (or of `appraisals`, a page of
    `review_appraisals`): evidence, each kind's score, the effective weights and missing kinds, final
    score, grade and reward, the raters with their totals and the deviating / not-scored flags, all
    as appraisal.results stored them. Two queries (the appraisals unless given, their seats), plus
    those of the user's scope when not cached yet: no score is loaded and nothing is recomputed."""
    appraisals = list(review_appraisals(cycle=cycle, user=user) if appraisals is None else appraisals)
    if not appraisals:
        return []
    raters_by: dict[int, list[RaterRow]] = defaultdict(list)
    # only what a row shows of a seat: at 50 panels a page, whole seats and users (password hashes,
    # links, timestamps) were a fifth of the rows' loading time
    seats = (
        Rater.objects.filter(appraisal__in=[a.pk for a in appraisals])
        .select_related("user")
        .only(*REVIEW_SEAT_FIELDS)
    )
    for rater in seats.order_by("appraisal_id", "kind", "pk"):
        raters_by[rater.appraisal_id].append(
            RaterRow(
                rater=rater,
                kind=rater.kind,
                name=rater.display_name,
                total=rater.total,
                stored_scored=rater.scored,
                deviating=rater.deviating,
            )
        )
    rows = []
    for appraisal in appraisals:
        kind_scores, weights, missing = _stored_kind_scores(appraisal)
        grade = appraisal.grade
        rows.append(
            ReviewRow(
                appraisal=appraisal,
                manager=appraisal.manager,
                evidence=appraisal.evidence or {},
                evidence_computed_at=appraisal.evidence_computed_at,
                kind_scores=kind_scores,
                effective_weights=weights,
                missing_kinds=missing,
                score=appraisal.score,
                grade=grade,
                reward=str(scoring.REWARD_FOR_GRADE[grade]) if grade else "",
                raters=raters_by[appraisal.pk],
            )
        )
    return rows


def panel_for(
    *, appraisal: Appraisal, criteria: list[Criterion] | None = None
) -> tuple[scoring.Result, list[RaterRow]]:
    """The panel of one appraisal with each rater's scores, total and flags. Two queries, three when
    the cycle's criteria are not given."""
    if criteria is None:
        criteria = criteria_of(appraisal.cycle_id)
    raters = list(appraisal.raters.select_related("user").order_by("kind", "pk"))
    scores = list(Score.objects.filter(rater__appraisal=appraisal))
    return _panel_rows(appraisal, raters, scores, criteria)


# ---------------------------------------------------------------- the supervisor's home
@dataclass(frozen=True)
class CycleProgress:
    """How far the current cycle has got among the appraisals a user may see: how many are in each
    status (every status, zeros included, in the workflow's order)."""

    year: int
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def statuses(self) -> list[tuple[str, str, int, float]]:
        """(status, label, count, share in percent) in the workflow's order: draft, scoring, under
        review, finalized."""
        total = self.total or 1
        return [
            (s.value, s.label, n, round(100 * n / total, 1))
            for s in AppraisalStatus
            for n in [self.counts.get(s.value, 0)]
        ]


def current_cycle_progress(*, user) -> CycleProgress | None:
    """The appraisals of the current cycle (the latest year opened, whatever its state since) that
    `user` may see, counted by status; None before any cycle is opened or when the user sees none of
    its appraisals. One query: the cycle is a subquery."""
    current = AppraisalCycle.objects.exclude(status=CycleStatus.DRAFT).order_by("-year").values("pk")[:1]
    rows = (
        Appraisal.objects.visible_to(user)
        .filter(cycle=current)
        .values("cycle__year", "status")
        # distinct: a panel member's scope joins the raters, one row per seat
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    )
    counts: dict[str, int] = {}
    year = None
    for row in rows:
        year, counts[row["status"]] = row["cycle__year"], row["n"]
    return None if year is None else CycleProgress(year=year, counts=counts)
