"""Reads of the appraisal that need more than one chained filter: the supervisor's review table (also
the XLSX export's rows) and a panel with each rater's scores and total. Each
function issues a fixed number of queries whatever the size of the team or panel."""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, QuerySet

from appraisal import scoring
from appraisal.models import Appraisal, AppraisalCycle, Criterion, Rater, Score
from appraisal.services import appraisal_result


@dataclass
class RaterRow:
    rater: Rater
    kind: str
    name: str
    total: Decimal | None  # exact weighted mean over the criteria; None until every criterion is scored
    scores: dict[int, Score] = field(default_factory=dict)  # criterion id -> the rater's score
    deviating: bool = False

    @property
    def scored(self) -> int:
        """Criteria scored so far."""
        return len(self.scores)

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
    return (
        Appraisal.objects.visible_to(user)
        .filter(cycle=cycle)
        .select_related("cycle", "manager__user", "manager__station")
        .order_by("manager__station__code", "manager__employee_no")
    )


def review_rows(*, cycle: AppraisalCycle, user, appraisals=None) -> list[ReviewRow]:
    """One row per appraisal of the cycle `user` may see (or of `appraisals`, a page of
    `review_appraisals`): evidence, each kind's score, the effective weights and missing kinds, final
    score, grade and reward, the raters with their totals and the deviating / not-scored flags. Four
    queries, plus those of the user's scope when not cached yet."""
    appraisals = list(review_appraisals(cycle=cycle, user=user) if appraisals is None else appraisals)
    if not appraisals:
        return []
    criteria = criteria_of(cycle)
    raters_by: dict[int, list[Rater]] = defaultdict(list)
    raters = Rater.objects.filter(appraisal__in=[a.pk for a in appraisals]).select_related("user")
    for rater in raters.order_by("kind", "pk"):
        raters_by[rater.appraisal_id].append(rater)
    scores_by: dict[int, list[Score]] = defaultdict(list)
    for score in Score.objects.filter(rater__appraisal__in=[a.pk for a in appraisals]).annotate(
        appraisal_id=F("rater__appraisal_id")
    ):
        scores_by[score.appraisal_id].append(score)
    rows = []
    for appraisal in appraisals:
        result, rater_rows = _panel_rows(
            appraisal, raters_by[appraisal.pk], scores_by[appraisal.pk], criteria
        )
        grade = appraisal.grade or (result.grade or "")
        rows.append(
            ReviewRow(
                appraisal=appraisal,
                manager=appraisal.manager,
                evidence=appraisal.evidence or {},
                evidence_computed_at=appraisal.evidence_computed_at,
                kind_scores=result.kind_scores,
                effective_weights=result.effective_weights,
                missing_kinds=result.missing_kinds,
                score=appraisal.score if appraisal.score is not None else result.score,
                grade=grade,
                reward=str(scoring.REWARD_FOR_GRADE[grade]) if grade else "",
                raters=rater_rows,
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
