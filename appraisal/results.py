"""Each appraisal's figures from its panel's scores, stored on the rows (appraisal.services calls
`appraisal_recompute` after every score or panel change): the final score, grade, kind scores and
the deviation flag on the appraisal, and each seat's scored count, total and deviation on the seat.
Lists, the review and the exports read them from the rows instead of recomputing per row."""

from collections import defaultdict

from django.utils import timezone

from appraisal import scoring
from appraisal.models import Appraisal, Rater, Score
from crm.common.audit import history_record


def _scores_by_rater(raters, scores, criteria) -> dict[int, dict[str, int]]:
    """{rater id: {criterion code: score}}, every rater of the panel (an empty dict if unscored)."""
    code_of = {c.pk: c.code for c in criteria}
    by_rater: dict[int, dict[str, int]] = {r.pk: {} for r in raters}
    for score in scores:
        by_rater.setdefault(score.rater_id, {})[code_of.get(score.criterion_id)] = score.score
    return by_rater


def appraisal_result(appraisal: Appraisal, raters: list[Rater], scores: list[Score], criteria) -> tuple:
    """The arithmetic for one appraisal from loaded rows: (Result, {rater id: total or None})."""
    weights = {c.code: c.weight for c in criteria}
    by_rater = _scores_by_rater(raters, scores, criteria)
    totals = {r.pk: scoring.rater_total(by_rater[r.pk], weights) for r in raters}
    per_kind: dict[str, list] = defaultdict(list)
    for rater in raters:
        if totals[rater.pk] is not None:
            per_kind[rater.kind].append(totals[rater.pk])
    result = scoring.final_score(rater_totals=per_kind, kind_weights=appraisal.cycle.rater_weights)
    return result, totals


def kind_scores_json(result: scoring.Result) -> dict:
    return {
        **{str(k): (str(v) if v is not None else None) for k, v in result.kind_scores.items()},
        "_weights": {str(k): str(v) for k, v in result.effective_weights.items()},
        "_missing": [str(k) for k in result.missing_kinds],
    }


def _store_seat_figures(raters: list[Rater], scores: list[Score], criteria) -> bool:
    """Each seat's scored count, total and deviation onto its row (only the seats that changed);
    whether any seat deviates."""
    by_rater = _scores_by_rater(raters, scores, criteria)
    figures = scoring.seat_figures(by_rater, {c.code: c.weight for c in criteria})
    changed = []
    for rater in raters:
        new = figures[rater.pk]
        if (rater.scored, rater.total, rater.deviating) != (new.scored, new.total, new.deviating):
            rater.scored, rater.total, rater.deviating = new.scored, new.total, new.deviating
            changed.append(rater)
    if changed:
        Rater.objects.bulk_update(changed, ["scored", "total", "deviating"])
    return any(f.deviating for f in figures.values())


def appraisal_recompute(*, appraisal, by=None) -> Appraisal:
    """Store the appraisal's final score, grade, kind scores and flag, and each seat's figures, from
    its panel's scores; a change of score or grade is recorded in the history with `by`."""
    criteria = list(appraisal.cycle.criteria.all())
    raters = list(appraisal.raters.all())
    scores = list(Score.objects.filter(rater__appraisal=appraisal))
    result, _totals = appraisal_result(appraisal, raters, scores, criteria)
    grade = result.grade or ""
    changed = (appraisal.score, appraisal.grade) != (result.score, grade)
    appraisal.score, appraisal.grade, appraisal.kind_scores = result.score, grade, kind_scores_json(result)
    appraisal.flagged = _store_seat_figures(raters, scores, criteria)
    Appraisal.objects.filter(pk=appraisal.pk).update(
        score=appraisal.score,
        grade=grade,
        kind_scores=appraisal.kind_scores,
        flagged=appraisal.flagged,
        updated_at=timezone.now(),
    )
    if changed:
        history_record(appraisal, by=by)
    return appraisal
