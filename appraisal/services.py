"""Every write of the appraisal: cycles and their criteria, opening a cycle, panels, scores and the
workflow (draft -> scoring -> review -> finalized, and an administrator's reopening).

Errors: a wrong state raises AppraisalStateError (409 in the API, a message on pages); a broken rule
raises Django's ValidationError keyed by field; acting outside one's rights raises PermissionDenied.
Each appraisal's score, grade and kind scores are recomputed (appraisal.results) after every score or panel
change, so lists and exports read them from the row. Every change records who made it in the
history (django-simple-history): the acting user is passed as `by`, never taken from a thread-local."""

import re
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from appraisal import links, scoring
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
from appraisal.results import appraisal_recompute
from crm.accounts.roles import ADMINISTRATOR, roles_of
from crm.common import hooks
from crm.common.errors import Conflict
from crm.common.outbox import api_link, outbox_record
from crm.common.scopes import scope_for
from managers.models import Manager

MIN_YEAR, MAX_YEAR = 2000, 2100
REASON_MAX = 100  # the history's change reason holds 100 characters


class AppraisalStateError(Conflict):
    """The cycle or appraisal is not in a state that allows this (409)."""


# ---------------------------------------------------------------- rights
def is_administrator(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or ADMINISTRATOR in roles_of(user)


def can_manage(user, appraisal: Appraisal) -> bool:
    """The supervisor of the appraised manager (anyone above them in the reporting tree) or an
    administrator, holding the permission to change appraisals; never the manager themselves."""
    if not getattr(user, "is_authenticated", False) or user.pk == appraisal.manager_id:
        return False
    return scope_for(user).includes(appraisal.manager_id) and user.has_perm("appraisal.change_appraisal")


def _require_manage(user, appraisal: Appraisal) -> None:
    if not can_manage(user, appraisal):
        raise PermissionDenied(_("Only the manager's supervisor or an administrator may do this."))


def _require_perm(user, perm: str) -> None:
    if user is None or not user.has_perm(perm):
        raise PermissionDenied(_("You do not have permission to do this."))


def _save(instance, *, by, reason: str = "", fields=None) -> None:
    instance._history_user = by
    if reason:
        instance._change_reason = reason
    instance.save(update_fields=fields)


# ---------------------------------------------------------------- cycles
def _whole(value, low: int, high: int) -> bool:
    """A whole number from `low` to `high` (JSON's true and false are not numbers here)."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _clean_criteria(criteria) -> list[dict]:
    if criteria is None:
        with translation.override(settings.LANGUAGE_CODE):
            return [{"code": c, "name": str(n), "weight": w} for c, n, w in scoring.DEFAULT_CRITERIA]
    if not isinstance(criteria, list | tuple) or not criteria:
        raise ValidationError({"criteria": [_("Give at least one criterion.")]})
    cleaned, seen, errors = [], set(), []
    for index, item in enumerate(criteria, start=1):
        if not isinstance(item, dict):
            errors.append(_("Criterion %(n)s: give a code, a name and a weight.") % {"n": index})
            continue
        code = str(item.get("code") or "").strip()
        name = str(item.get("name") or "").strip()
        weight = item.get("weight")
        if not re.fullmatch(r"[-a-zA-Z0-9_]{1,40}", code):
            errors.append(_("Criterion %(n)s: the code must be 1-40 letters, digits, - or _.") % {"n": index})
        elif code in seen:
            errors.append(_("Criterion %(n)s: the code %(code)s is used twice.") % {"n": index, "code": code})
        if not name or len(name) > 200:
            errors.append(_("Criterion %(n)s: give a name of at most 200 characters.") % {"n": index})
        if not _whole(weight, 0, 100):
            errors.append(
                _("Criterion %(n)s: the weight must be a whole number from 0 to 100.") % {"n": index}
            )
        seen.add(code)
        cleaned.append({"code": code, "name": name, "weight": weight})
    if errors:
        raise ValidationError({"criteria": errors})
    total = sum(item["weight"] for item in cleaned)
    if total != 100:
        raise ValidationError(
            {
                "criteria": [
                    _("The criteria's weights must sum to 100 (they sum to %(total)s).") % {"total": total}
                ]
            }
        )
    return cleaned


def _clean_rater_weights(rater_weights) -> dict[str, int]:
    if rater_weights is None:
        return dict(scoring.DEFAULT_RATER_WEIGHTS)
    if not isinstance(rater_weights, dict) or set(rater_weights) != set(RaterKind.values):
        raise ValidationError(
            {
                "rater_weights": [
                    _("Give a weight for each of: %(kinds)s.") % {"kinds": ", ".join(RaterKind.values)}
                ]
            }
        )
    for kind, weight in rater_weights.items():
        if not _whole(weight, 0, 100):
            raise ValidationError(
                {
                    "rater_weights": [
                        _("%(kind)s: the weight must be a whole number from 0 to 100.") % {"kind": kind}
                    ]
                }
            )
    total = sum(rater_weights.values())
    if total != 100:
        raise ValidationError(
            {
                "rater_weights": [
                    _("The rater weights must sum to 100 (they sum to %(total)s).") % {"total": total}
                ]
            }
        )
    return {str(kind): weight for kind, weight in rater_weights.items()}


def _clean_link_days(days) -> int | None:
    if days is None:
        return None
    if not _whole(days, 1, 365):
        raise ValidationError({"link_valid_days": [_("Give a whole number of days from 1 to 365.")]})
    return days


def _apply_weights(cycle: AppraisalCycle, weights: dict[str, int]) -> None:
    cycle.supervisor_weight = weights[RaterKind.SUPERVISOR]
    cycle.customer_representative_weight = weights[RaterKind.CUSTOMER_REPRESENTATIVE]
    cycle.collaborator_weight = weights[RaterKind.COLLABORATOR]


def _replace_criteria(cycle: AppraisalCycle, criteria: list[dict], *, by) -> None:
    for old in cycle.criteria.all():
        old._history_user = by
        old.delete()
    bulk_create_with_history(
        [
            Criterion(cycle=cycle, code=c["code"], name=c["name"], weight=c["weight"], position=position)
            for position, c in enumerate(criteria)
        ],
        Criterion,
        default_user=by,
    )


@transaction.atomic
def cycle_create(*, year, criteria=None, rater_weights=None, link_valid_days=None, by) -> AppraisalCycle:
    _require_perm(by, "appraisal.add_appraisalcycle")
    if not _whole(year, MIN_YEAR, MAX_YEAR):
        raise ValidationError(
            {"year": [_("Give a year from %(lo)s to %(hi)s.") % {"lo": MIN_YEAR, "hi": MAX_YEAR}]}
        )
    if AppraisalCycle.objects.filter(year=year).exists():
        raise ValidationError({"year": [_("There is already a cycle for %(year)s.") % {"year": year}]})
    cleaned = _clean_criteria(criteria)
    weights = _clean_rater_weights(rater_weights)
    days = _clean_link_days(link_valid_days)
    cycle = AppraisalCycle(year=year)
    _apply_weights(cycle, weights)
    if days is not None:
        cycle.link_valid_days = days
    _save(cycle, by=by)
    _replace_criteria(cycle, cleaned, by=by)
    return cycle


@transaction.atomic
def cycle_update(*, cycle, criteria=None, rater_weights=None, link_valid_days=None, by) -> AppraisalCycle:
    """Criteria and rater weights change only while the cycle is a draft; the link validity also
    later (it applies to links issued from then on)."""
    _require_perm(by, "appraisal.change_appraisalcycle")
    cycle = AppraisalCycle.objects.select_for_update().get(pk=cycle.pk)
    days = _clean_link_days(link_valid_days)
    if (criteria is not None or rater_weights is not None) and cycle.status != CycleStatus.DRAFT:
        raise AppraisalStateError(_("Criteria and weights can only be changed while the cycle is a draft."))
    if criteria is not None:
        _replace_criteria(cycle, _clean_criteria(criteria), by=by)
    if rater_weights is not None:
        _apply_weights(cycle, _clean_rater_weights(rater_weights))
    if days is not None:
        cycle.link_valid_days = days
    _save(cycle, by=by)
    return cycle


@transaction.atomic
def cycle_delete(*, cycle, by) -> None:
    """Only a draft goes, with the appraisals added to it by hand (nobody has scored yet)."""
    _require_perm(by, "appraisal.delete_appraisalcycle")
    cycle = AppraisalCycle.objects.select_for_update().get(pk=cycle.pk)
    if cycle.status != CycleStatus.DRAFT:
        raise AppraisalStateError(_("Only a draft cycle can be deleted."))
    for appraisal in cycle.appraisals.all():
        appraisal._history_user = by
        appraisal.delete()
    cycle._history_user = by
    cycle.delete()


def _enqueue_evidence(cycle_id: int, appraisal_ids: list[int] | None = None) -> None:
    from appraisal.tasks import compute_evidence_task

    hooks.send_after_commit(compute_evidence_task, cycle_id, appraisal_ids)


def _supervisor_seats(appraisals: list[Appraisal], *, by) -> list[Rater]:
    return [
        Rater(appraisal=a, kind=RaterKind.SUPERVISOR, user_id=a.manager.user.supervisor_id, added_by=by)
        for a in appraisals
        if a.manager.user.supervisor_id
    ]


@transaction.atomic
def cycle_open(*, cycle, by) -> int:
    """Draft -> scoring: an appraisal (in scoring) for every active manager who has none in this
    cycle yet, each with the manager's supervisor on its panel; appraisals added by hand to the
    draft start scoring too. The evidence job runs once the transaction commits. Returns the number
    of appraisals created."""
    _require_perm(by, "appraisal.change_appraisalcycle")
    cycle = AppraisalCycle.objects.select_for_update().get(pk=cycle.pk)
    if cycle.status != CycleStatus.DRAFT:
        raise AppraisalStateError(_("Only a draft cycle can be opened."))
    if not cycle.criteria.exists():
        raise ValidationError({"criteria": [_("The cycle has no criteria.")]})
    have = set(cycle.appraisals.values_list("manager_id", flat=True))
    managers = Manager.objects.active().exclude(pk__in=have).select_related("user")
    created = bulk_create_with_history(
        [Appraisal(cycle=cycle, manager=m, status=AppraisalStatus.SCORING) for m in managers],
        Appraisal,
        default_user=by,
    )
    # bulk_create sets primary keys on PostgreSQL and SQLite; read them back where it does not.
    if created and created[0].pk is None:
        created = list(cycle.appraisals.filter(manager__in=managers).select_related("manager__user"))
    drafts = list(cycle.appraisals.filter(status=AppraisalStatus.DRAFT).select_related("manager__user"))
    for appraisal in drafts:
        appraisal.status = AppraisalStatus.SCORING
        _save(appraisal, by=by, fields=["status", "updated_at"])
    seated = set(
        Rater.objects.filter(appraisal__in=drafts, kind=RaterKind.SUPERVISOR).values_list(
            "appraisal_id", flat=True
        )
    )
    seats = _supervisor_seats(created, by=by) + _supervisor_seats(
        [a for a in drafts if a.pk not in seated], by=by
    )
    bulk_create_with_history(seats, Rater, default_user=by)
    cycle.status = CycleStatus.SCORING
    cycle.opened_at = timezone.now()
    cycle.opened_by = by
    _save(cycle, by=by)
    _enqueue_evidence(cycle.pk)
    return len(created)


def _sync_cycle_status(cycle: AppraisalCycle, *, by) -> None:
    """The cycle's status follows its appraisals once opened: scoring while any is scoring, finalized
    when all are, review otherwise."""
    if cycle.status == CycleStatus.DRAFT:
        return
    statuses = set(cycle.appraisals.values_list("status", flat=True))
    if AppraisalStatus.SCORING in statuses or AppraisalStatus.DRAFT in statuses or not statuses:
        wanted = CycleStatus.SCORING
    elif statuses == {AppraisalStatus.FINALIZED}:
        wanted = CycleStatus.FINALIZED
    else:
        wanted = CycleStatus.REVIEW
    if cycle.status != wanted:
        cycle.status = wanted
        _save(cycle, by=by, fields=["status", "updated_at"])


@transaction.atomic
def appraisal_create(*, cycle, manager, by) -> Appraisal:
    """An appraisal added by hand (a manager who joined after the cycle opened): it waits in draft
    with a draft cycle, otherwise it starts scoring with the supervisor on its panel."""
    _require_perm(by, "appraisal.add_appraisal")
    cycle = AppraisalCycle.objects.select_for_update().get(pk=cycle.pk)
    if cycle.status == CycleStatus.FINALIZED:
        raise AppraisalStateError(_("The cycle is finalized."))
    if cycle.appraisals.filter(manager=manager).exists():
        raise ValidationError({"manager": [_("This manager already has an appraisal in this cycle.")]})
    status = AppraisalStatus.DRAFT if cycle.status == CycleStatus.DRAFT else AppraisalStatus.SCORING
    appraisal = Appraisal(cycle=cycle, manager=manager, status=status)
    _require_manage(by, appraisal)
    _save(appraisal, by=by)
    if status == AppraisalStatus.SCORING:
        bulk_create_with_history(_supervisor_seats([appraisal], by=by), Rater, default_user=by)
        _sync_cycle_status(cycle, by=by)
        _enqueue_evidence(cycle.pk, [appraisal.pk])
    return appraisal


# ---------------------------------------------------------------- panels
def _lock(appraisal: Appraisal) -> Appraisal:
    return Appraisal.objects.select_for_update().select_related("cycle", "manager__user").get(pk=appraisal.pk)


def _panel_to_change(appraisal: Appraisal, *, by) -> Appraisal:
    """The appraisal, locked, once `by` may change its panel and the panel may still change."""
    appraisal = _lock(appraisal)
    _require_manage(by, appraisal)
    if appraisal.status not in (AppraisalStatus.DRAFT, AppraisalStatus.SCORING):
        raise AppraisalStateError(_("The panel can only change before the appraisal goes to review."))
    return appraisal


@transaction.atomic
def panel_add(*, appraisal, kind, user=None, name="", organisation="", by) -> Rater:
    appraisal = _panel_to_change(appraisal, by=by)
    name, organisation = (name or "").strip(), (organisation or "").strip()
    if kind not in RaterKind.values:
        raise ValidationError({"kind": [_("Choose supervisor, customer_representative or collaborator.")]})
    rater = Rater(appraisal=appraisal, kind=kind, added_by=by, organisation=organisation[:200])
    if kind == RaterKind.CUSTOMER_REPRESENTATIVE:
        if user is not None:
            raise ValidationError({"user": [_("A customer representative has no account: give a name.")]})
        if not name or len(name) > 100:
            raise ValidationError({"name": [_("Give the representative's name (at most 100 characters).")]})
        rater.name = name
        rater.link_expires_at = timezone.now() + timedelta(days=appraisal.cycle.link_valid_days)
    else:
        if user is None:
            raise ValidationError({"user": [_("Give the user who sits on the panel.")]})
        if name:
            raise ValidationError({"name": [_("Only a customer representative is given by name.")]})
        if not user.is_active:
            raise ValidationError({"user": [_("This user is not active.")]})
        if user.pk == appraisal.manager_id:
            raise ValidationError({"user": [_("A manager cannot sit on their own panel.")]})
        if appraisal.raters.filter(user=user).exists():
            raise ValidationError({"user": [_("This user is already on the panel.")]})
        rater.user = user
    _save(rater, by=by)
    return rater


@transaction.atomic
def panel_reissue_link(*, rater, by) -> Rater:
    """A new link for a representative (lost, expired, or to score again): older links stop working."""
    appraisal = _panel_to_change(rater.appraisal, by=by)
    rater = Rater.objects.select_for_update().get(pk=rater.pk)
    if rater.kind != RaterKind.CUSTOMER_REPRESENTATIVE:
        raise ValidationError({"kind": [_("Only a customer representative has a link.")]})
    new_expiry = timezone.now() + timedelta(days=appraisal.cycle.link_valid_days)
    if rater.link_expires_at and int(new_expiry.timestamp()) == int(rater.link_expires_at.timestamp()):
        new_expiry += timedelta(seconds=1)  # the version must change even within the same second
    rater.link_expires_at = new_expiry
    rater.submitted_at = None
    _save(rater, by=by, reason="link re-issued")
    return rater


@transaction.atomic
def panel_remove(*, rater, by) -> None:
    appraisal = _panel_to_change(rater.appraisal, by=by)
    rater = Rater.objects.get(pk=rater.pk)
    for score in rater.scores.all():
        score._history_user = by
        score.delete()
    rater._history_user = by
    rater.delete()
    appraisal_recompute(appraisal=appraisal, by=by)


def rater_seat_for(*, appraisal, user) -> Rater | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return appraisal.raters.filter(user=user).first()


# ---------------------------------------------------------------- scores
def _clean_scores(scores, criteria: dict[str, Criterion]) -> list[tuple[Criterion, int, str]]:
    if not isinstance(scores, list | tuple) or not scores:
        raise ValidationError({"scores": [_("Give at least one score.")]})
    cleaned, seen, errors = [], set(), []
    for index, item in enumerate(scores, start=1):
        if not isinstance(item, dict):
            errors.append(_("Item %(n)s: give a criterion and a score.") % {"n": index})
            continue
        code, score, comment = item.get("criterion"), item.get("score"), item.get("comment") or ""
        criterion = criteria.get(code) if isinstance(code, str) else None
        if criterion is None:
            errors.append(_("Item %(n)s: no criterion %(code)s in this cycle.") % {"n": index, "code": code})
            continue
        if code in seen:
            errors.append(_("Item %(n)s: %(code)s is scored twice.") % {"n": index, "code": code})
        if not _whole(score, 0, 100):
            errors.append(_("Item %(n)s: the score must be a whole number from 0 to 100.") % {"n": index})
        if not isinstance(comment, str) or len(comment) > 2000:
            errors.append(
                _("Item %(n)s: the comment must be text of at most 2000 characters.") % {"n": index}
            )
        seen.add(code)
        cleaned.append((criterion, score, comment))
    if errors:
        raise ValidationError({"scores": errors})
    return cleaned


@transaction.atomic
def scores_save(*, rater, scores, by=None) -> list[Score]:
    """Save one rater's scores (a partial set is fine for users; a representative sends all at once
    and spends the link). `by` is the rater's own user, or None for a representative's link."""
    appraisal = _lock(rater.appraisal)
    rater = Rater.objects.select_for_update().get(pk=rater.pk)
    if rater.user_id is not None:
        if by is None or by.pk != rater.user_id:
            raise PermissionDenied(_("You can only enter your own scores."))
    elif by is not None and getattr(by, "is_authenticated", False):
        raise PermissionDenied(_("A customer representative's scores are entered with their link."))
    if appraisal.status != AppraisalStatus.SCORING:
        raise AppraisalStateError(_("Scores can only be entered while the appraisal is in scoring."))
    if rater.kind == RaterKind.CUSTOMER_REPRESENTATIVE:
        links.check_link_usable(rater)
    criteria = {c.code: c for c in appraisal.cycle.criteria.all()}
    cleaned = _clean_scores(scores, criteria)
    if rater.kind == RaterKind.CUSTOMER_REPRESENTATIVE and {c.code for c, _s, _c in cleaned} != set(criteria):
        raise ValidationError({"scores": [_("Score every criterion before you submit.")]})
    existing = {s.criterion_id: s for s in rater.scores.all()}
    reason = "" if rater.user_id else f"representative link: {rater.name}"[:REASON_MAX]
    saved = []
    for criterion, value, comment in cleaned:
        score = existing.get(criterion.pk) or Score(rater=rater, criterion=criterion)
        if score.pk is None or (score.score, score.comment) != (value, comment):
            score.score, score.comment = value, comment
            _save(score, by=by, reason=reason)
        saved.append(score)
    scored = {s.criterion_id for s in existing.values()} | {c.pk for c, _s, _c in cleaned}
    complete = scored >= {c.pk for c in criteria.values()}
    if complete and rater.submitted_at is None:
        rater.submitted_at = timezone.now()
        _save(rater, by=by, reason=reason, fields=["submitted_at", "updated_at"])
    appraisal_recompute(appraisal=appraisal, by=by)
    return saved


# ---------------------------------------------------------------- workflow
@transaction.atomic
def appraisal_submit(*, appraisal, by) -> Appraisal:
    """Scoring -> review; the evidence is computed again for the review."""
    appraisal = _lock(appraisal)
    _require_manage(by, appraisal)
    if appraisal.status != AppraisalStatus.SCORING:
        raise AppraisalStateError(_("Only an appraisal in scoring can be submitted for review."))
    appraisal.status = AppraisalStatus.REVIEW
    _save(appraisal, by=by, fields=["status", "updated_at"])
    _sync_cycle_status(appraisal.cycle, by=by)
    _enqueue_evidence(appraisal.cycle_id, [appraisal.pk])
    return appraisal


def _finalize(appraisal: Appraisal, *, by, now) -> None:
    if appraisal.status != AppraisalStatus.REVIEW:
        raise AppraisalStateError(_("Only an appraisal under review can be finalized."))
    if appraisal.score is None:
        raise AppraisalStateError(_("Nobody has scored this appraisal yet: it cannot be finalized."))
    appraisal.status = AppraisalStatus.FINALIZED
    appraisal.finalized_at, appraisal.finalized_by = now, by
    _save(appraisal, by=by, fields=["status", "finalized_at", "finalized_by", "updated_at"])
    outbox_record(
        "appraisal.finalized",
        {
            "appraisal": appraisal.pk,
            "cycle": appraisal.cycle_id,
            "manager": appraisal.manager_id,
            "score": str(appraisal.score),
            "link": api_link("appraisals", appraisal.pk),
        },
        at=now,
    )


@transaction.atomic
def appraisal_finalize(*, appraisal, by) -> Appraisal:
    appraisal = _lock(appraisal)
    _require_manage(by, appraisal)
    _finalize(appraisal, by=by, now=timezone.now())
    _sync_cycle_status(appraisal.cycle, by=by)
    return appraisal


@transaction.atomic
def appraisals_finalize(*, cycle, by) -> int:
    """Finalize every appraisal of `by`'s team in this cycle that is under review and has a score."""
    candidates = (
        Appraisal.objects.select_for_update()
        .select_related("cycle")
        .filter(cycle=cycle, status=AppraisalStatus.REVIEW, score__isnull=False)
        .order_by("pk")
    )
    scope = scope_for(by)
    if not scope.sees_all:  # lock only the team's rows, not the whole company's
        candidates = candidates.filter(manager_id__in=scope.user_ids - {by.pk})
    now, count = timezone.now(), 0
    for appraisal in candidates:
        if can_manage(by, appraisal):
            _finalize(appraisal, by=by, now=now)
            count += 1
    if count:
        _sync_cycle_status(AppraisalCycle.objects.get(pk=cycle.pk), by=by)
    return count


@transaction.atomic
def appraisal_reopen(*, appraisal, reason, by) -> Appraisal:
    """Finalized -> review, by an administrator, with a reason kept as the history's change reason."""
    if not is_administrator(by):
        raise PermissionDenied(_("Only an administrator may reopen a finalized appraisal."))
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationError({"reason": [_("Give the reason for reopening.")]})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [_("Keep the reason to %(n)s characters.") % {"n": REASON_MAX}]})
    appraisal = _lock(appraisal)
    if appraisal.status != AppraisalStatus.FINALIZED:
        raise AppraisalStateError(_("Only a finalized appraisal can be reopened."))
    appraisal.status = AppraisalStatus.REVIEW
    appraisal.finalized_at, appraisal.finalized_by = None, None
    _save(appraisal, by=by, reason=reason, fields=["status", "finalized_at", "finalized_by", "updated_at"])
    _sync_cycle_status(appraisal.cycle, by=by)
    return appraisal
