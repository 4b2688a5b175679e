"""The arithmetic of the appraisal, with no database: a rater's total, the final score, the grade.

Rounding rule (stated once, tested in tests/appraisal/test_scoring.py): every intermediate value
(a rater's total, a kind's mean, the shared-out weights) is kept exact as a Decimal; the final
score alone is rounded, once, to two decimals with ROUND_HALF_UP, and the grade is read from that
rounded score (89.995 rounds to 90.00 and is excellent). The kind scores and effective weights in
a Result are rounded to two decimals for display only; the final score is not computed from them.

A rater kind (supervisor, customer representatives, collaborators) whose weight is above zero but
whose raters have not scored (or who has no rater on the panel) is "missing": its weight is shared
out among the kinds that did score, in proportion to their own weights."""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_lazy as _

from appraisal.models import Grade, RaterKind

CENT = Decimal("0.01")
HUNDRED = Decimal(100)

# domain.md, "Yearly appraisal": (code, name, weight); editable per cycle, weights sum to 100.
DEFAULT_CRITERIA = [
    ("plan_completion", _("Annual work plan completion"), 30),
    ("satisfaction", _("Customer satisfaction"), 25),
    ("market_expansion", _("Market expansion"), 20),
    ("info_feedback", _("Customer information and feedback"), 15),
    ("collaboration", _("Cross-department collaboration"), 10),
]
DEFAULT_RATER_WEIGHTS = {
    RaterKind.SUPERVISOR: 50,
    RaterKind.CUSTOMER_REPRESENTATIVE: 30,
    RaterKind.COLLABORATOR: 20,
}
KINDS = [RaterKind.SUPERVISOR, RaterKind.CUSTOMER_REPRESENTATIVE, RaterKind.COLLABORATOR]

GRADE_BANDS = [(Decimal(90), Grade.EXCELLENT), (Decimal(75), Grade.GOOD), (Decimal(60), Grade.QUALIFIED)]
REWARD_FOR_GRADE = {
    Grade.EXCELLENT: _("Excellence award and first consideration for promotion"),
    Grade.GOOD: _("Full performance bonus"),
    Grade.QUALIFIED: _("Standard performance pay"),
    Grade.UNQUALIFIED: _("No bonus; improvement plan and retraining"),
}
DEVIATION_FLAG_POINTS = 20


def round_score(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def rater_total(scores: dict[str, int], weights: dict[str, int]) -> Decimal | None:
    """One rater's weighted mean over the criteria (exact), or None unless every criterion with a
    weight is scored."""
    if not weights or any(scores.get(code) is None for code in weights):
        return None
    total_weight = sum(weights.values())
    if total_weight <= 0:
        return None
    weighted = sum((Decimal(scores[code]) * weight for code, weight in weights.items()), Decimal(0))
    return weighted / total_weight


@dataclass(frozen=True)
class Result:
    score: Decimal | None
    kind_scores: dict[str, Decimal | None] = field(default_factory=dict)
    effective_weights: dict[str, Decimal] = field(default_factory=dict)
    missing_kinds: list[str] = field(default_factory=list)

    @property
    def grade(self) -> str | None:
        return grade_for(self.score)

    @property
    def shared_out(self) -> bool:
        """Some kind's weight went to the others (the page says so)."""
        return bool(self.missing_kinds) and self.score is not None


def final_score(*, rater_totals: dict[str, list[Decimal]], kind_weights: dict[str, int]) -> Result:
    """Criterion weights within each rater (their totals), the mean per kind, then the kind weights,
    a missing kind's weight shared out among the others. None when no kind has scored."""
    means: dict[str, Decimal] = {}
    for kind in kind_weights:
        totals = [t for t in rater_totals.get(kind, []) if t is not None]
        if totals:
            means[kind] = sum(totals, Decimal(0)) / len(totals)
    present = {kind: Decimal(w) for kind, w in kind_weights.items() if kind in means and w > 0}
    missing = [kind for kind, w in kind_weights.items() if w > 0 and kind not in means]
    present_weight = sum(present.values(), Decimal(0))
    kind_scores = {kind: (round_score(means[kind]) if kind in means else None) for kind in kind_weights}
    if present_weight == 0:
        return Result(
            score=None,
            kind_scores=kind_scores,
            effective_weights={kind: Decimal("0.00") for kind in kind_weights},
            missing_kinds=missing,
        )
    exact = sum((means[kind] * weight for kind, weight in present.items()), Decimal(0)) / present_weight
    effective = {
        kind: round_score(present[kind] * HUNDRED / present_weight) if kind in present else Decimal("0.00")
        for kind in kind_weights
    }
    return Result(
        score=round_score(exact), kind_scores=kind_scores, effective_weights=effective, missing_kinds=missing
    )


def grade_for(score) -> str | None:
    """The grade of a score, read on the score rounded to two decimals; None for no score."""
    if score is None:
        return None
    rounded = round_score(Decimal(str(score)))
    for floor, grade in GRADE_BANDS:
        if rounded >= floor:
            return grade
    return Grade.UNQUALIFIED


def deviating_raters(rater_totals_by_rater: dict[int, Decimal]) -> set[int]:
    """Raters whose total differs from the panel's mean (all raters with a total, unweighted) by more
    than DEVIATION_FLAG_POINTS. One rater alone never deviates."""
    totals = {rid: t for rid, t in rater_totals_by_rater.items() if t is not None}
    if len(totals) < 2:
        return set()
    mean = sum(totals.values(), Decimal(0)) / len(totals)
    return {rid for rid, total in totals.items() if abs(total - mean) > DEVIATION_FLAG_POINTS}


@dataclass(frozen=True)
class SeatFigures:
    """What the review shows of one seat, stored on it (appraisal.services keeps it current)."""

    scored: int
    total: Decimal | None  # rounded to two decimals for display; deviation is read on the exact one
    deviating: bool


def seat_figures(
    scores_by_rater: dict[int, dict[str, int]], weights: dict[str, int]
) -> dict[int, SeatFigures]:
    """Each rater's count of scored criteria, total and deviation, from {rater id: {code: score}}
    (every rater of the panel, those without a score with an empty dict)."""
    totals = {rid: rater_total(scores, weights) for rid, scores in scores_by_rater.items()}
    deviating = deviating_raters(totals)
    return {
        rid: SeatFigures(
            scored=sum(1 for code in scores if code in weights),
            total=round_score(totals[rid]) if totals[rid] is not None else None,
            deviating=rid in deviating,
        )
        for rid, scores in scores_by_rater.items()
    }
