"""What the appraisal pages read beyond `appraisal.selectors`: one appraisal's panel with each seat's
scores, the evidence beside each criterion, the history of scores and status, and the seats a user
holds. Each function runs a fixed number of queries whatever the size of the panel."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from appraisal import evidence as evidence_module
from appraisal.models import Appraisal, AppraisalStatus, Criterion, Rater, RaterKind, Score
from appraisal.selectors import panel_for
from crm.common.audit import AuditEntry, FieldChange, audit_trail

HISTORY_LIMIT = 40


@dataclass
class Seat:
    rater: Rater
    scores: dict[int, Score]  # criterion id -> score
    total: Decimal | None
    deviating: bool = False  # total more than DEVIATION_FLAG_POINTS from the panel's mean
    link: str = ""  # a representative's link, for those who run the appraisal
    expired: bool = False  # that link's time is up: a new one can be issued

    @property
    def scored(self) -> int:
        return len(self.scores)


@dataclass
class EvidenceLine:
    label: str
    value: object
    unit: str


@dataclass
class CriterionRow:
    criterion: Criterion
    evidence: list[EvidenceLine] = field(default_factory=list)
    cells: list[tuple[str, Score | None]] = field(default_factory=list)  # (seat's name, score) per seat


def panel(appraisal: Appraisal, criteria: list[Criterion]) -> list[Seat]:
    """Every seat of the panel with its scores, its weighted total (None until all are scored) and
    whether it deviates (appraisal.selectors.panel_for does the arithmetic)."""
    _result, rows = panel_for(appraisal=appraisal, criteria=criteria)
    return [Seat(rater=r.rater, scores=r.scores, total=r.total, deviating=r.deviating) for r in rows]


def evidence_lines(evidence: dict, code: str) -> list[EvidenceLine]:
    """The computed figures the raters see beside criterion `code`."""
    return _lines(evidence, evidence_module.EVIDENCE_FOR_CRITERION.get(code, ()))


def unscored_evidence(evidence: dict) -> list[EvidenceLine]:
    """Figures shown for information beside no criterion (training hours)."""
    return _lines(evidence, evidence_module.UNSCORED_EVIDENCE)


def _lines(evidence: dict, keys) -> list[EvidenceLine]:
    metrics = evidence_module.METRIC_BY_KEY
    return [
        EvidenceLine(label=str(metrics[key].label), value=evidence.get(key), unit=metrics[key].unit)
        for key in keys
        if key in metrics
    ]


def criterion_rows(appraisal: Appraisal, criteria: list[Criterion], seats: list[Seat]) -> list[CriterionRow]:
    return [
        CriterionRow(
            criterion=c,
            evidence=evidence_lines(appraisal.evidence or {}, c.code),
            cells=[(seat.rater.display_name, seat.scores.get(c.pk)) for seat in seats],
        )
        for c in criteria
    ]


@dataclass
class KindScore:
    kind: str
    label: str
    score: Decimal | None
    weight: Decimal | None


def kind_scores(appraisal: Appraisal) -> list[KindScore]:
    """Each rater kind's mean and the weight it carried (after a missing kind's was shared out), as
    the services stored them on the appraisal."""
    stored = appraisal.kind_scores or {}
    weights = stored.get("_weights") or {}
    return [
        KindScore(
            kind=value,
            label=str(label),
            score=_decimal(stored.get(value)),
            weight=_decimal(weights.get(value)),
        )
        for value, label in RaterKind.choices
    ]


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def criterion_kind_means(
    appraisal: Appraisal, criteria: list[Criterion], seats: list[Seat]
) -> list[tuple[Criterion, list[EvidenceLine], list[tuple[str, Decimal | None]]]]:
    """Per criterion: its evidence and (kind's name, mean score) of each rater kind (the printed
    report, whose cells carry the kind's name when they stack on a phone)."""
    rows = []
    for criterion in criteria:
        means = []
        for kind, label in RaterKind.choices:
            values = [
                seat.scores[criterion.pk].score
                for seat in seats
                if seat.rater.kind == kind and criterion.pk in seat.scores
            ]
            mean = (Decimal(sum(values)) / len(values)).quantize(Decimal("0.01")) if values else None
            means.append((str(label), mean))
        rows.append((criterion, evidence_lines(appraisal.evidence or {}, criterion.code), means))
    return rows


def metric_columns(*, headline_only: bool = False) -> list[tuple[str, str, str]]:
    """(key, label, unit) of the evidence metrics, in order: every one (the export), or the first
    figure of each criterion and the unscored ones (the review page, which must fit a screen)."""
    metrics = evidence_module.METRICS
    if headline_only:
        wanted = [keys[0] for keys in evidence_module.EVIDENCE_FOR_CRITERION.values() if keys]
        wanted += evidence_module.UNSCORED_EVIDENCE
        metrics = [m for m in metrics if m.key in wanted]
    return [(m.key, str(m.label), m.unit) for m in metrics]


def kinds_without_score(appraisal: Appraisal, seats: list[Seat]) -> list[str]:
    """The rater kinds whose weight goes to the others: no rater of the kind on the panel, or (once
    there is a final score) none of its raters has scored every criterion."""
    seated = {seat.rater.kind for seat in seats}
    unscored = (
        set((appraisal.kind_scores or {}).get("_missing") or []) if appraisal.score is not None else set()
    )
    return [str(label) for value, label in RaterKind.choices if value not in seated or value in unscored]


def history(appraisal: Appraisal, *, limit: int = HISTORY_LIMIT) -> list[AuditEntry]:
    """The appraisal's status changes (with who and why, e.g. a reopening's reason) and every
    score entered or changed on its panel, newest first."""
    entries = audit_trail(appraisal, limit=limit)
    records = list(
        Score.history.filter(rater__appraisal=appraisal)
        .select_related("history_user", "rater__user", "criterion")
        .order_by("-history_date", "-history_id")[: limit * 2]
    )
    # simple-history's foreign keys on a historical row point at the live objects; a deleted seat's
    # scores are gone with it, so the filter above reads the live panel only.
    previous: dict[tuple[int, int], int | None] = {}
    for record in reversed(records):
        key = (record.rater_id, record.criterion_id)
        old = previous.get(key)
        previous[key] = record.score if record.history_type != "-" else None
        label = _("%(criterion)s by %(rater)s") % {
            "criterion": record.criterion.name,
            "rater": record.rater.display_name,
        }
        entries.append(
            AuditEntry(
                at=record.history_date,
                who=str(record.history_user) if record.history_user else record.rater.display_name,
                kind=str(_("score")),
                changes=[
                    FieldChange(
                        str(label),
                        "—" if old is None else str(old),
                        "—" if record.history_type == "-" else str(record.score),
                    )
                ],
                reason=record.comment if record.history_type != "-" else "",
            )
        )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


def seats_of(user) -> list[Rater]:
    """The panels `user` sits on, newest cycle first (the cycles page's "to score")."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(
        Rater.objects.filter(user=user)
        .exclude(appraisal__manager_id=user.pk)
        .select_related("appraisal__cycle", "appraisal__manager__user")
        .order_by("-appraisal__cycle__year", "appraisal__manager__user__full_name")
    )


def own_finalized(user) -> list[Appraisal]:
    return list(
        Appraisal.objects.filter(manager_id=user.pk, status=AppraisalStatus.FINALIZED)
        .select_related("cycle")
        .order_by("-cycle__year")
    )
