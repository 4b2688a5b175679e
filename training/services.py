"""Every write of the training app, and the rule that keeps Manager.qualified current.

A manager is qualified when each course required for their role has a passed record. Whatever can
change that answer calls `qualification_refresh` for the managers it touches: a record saved or
deleted, a course's required roles changed, a session's results entered, and (through the
"manager_changed" hook, see crm/jobs.py) a manager's role changed."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from crm.common import hooks
from managers.models import Manager, Role
from training.models import Course, Result, RoleRequirement, Session, TrainingRecord

COURSE_FIELDS = ("code", "title", "category", "delivery", "hours", "pass_mark")
RECORD_FIELDS = ("manager", "course", "session", "session_date", "hours", "result", "score")


# ---------------------------------------------------------------- qualification
def missing_required_courses():
    """Per manager (OuterRef "pk", "role"): the role's required courses without a passed record."""
    passed = TrainingRecord.objects.filter(
        manager_id=OuterRef(OuterRef("pk")), course_id=OuterRef("course_id"), result=Result.PASSED
    )
    return RoleRequirement.objects.filter(role=OuterRef("role")).exclude(Exists(passed))


@dataclass(frozen=True)
class QualificationChange:
    gained: int
    lost: int


@transaction.atomic
def qualification_refresh(
    *, manager_ids: Iterable[int] | None = None, roles: Iterable[str] | None = None
) -> QualificationChange:
    """Recompute Manager.qualified for the given managers, the managers of the given roles, or (both
    None) everyone. Two set-based UPDATEs that touch only the rows whose answer changed. When someone
    becomes qualified, the assignment step runs after commit: they may now receive customers."""
    managers = Manager.objects.all()
    if manager_ids is not None:
        managers = managers.filter(pk__in=list(manager_ids))
    if roles is not None:
        managers = managers.filter(role__in=list(roles))
    missing = Exists(missing_required_courses())
    now = timezone.now()
    lost = managers.filter(qualified=True).filter(missing).update(qualified=False, updated_at=now)
    gained = managers.filter(qualified=False).exclude(missing).update(qualified=True, updated_at=now)
    if gained:
        hooks.after_commit("portfolios_changed")
    return QualificationChange(gained=gained, lost=lost)


# ---------------------------------------------------------------- courses
@transaction.atomic
def course_save(
    *, course: Course | None, by, required_for_roles: Iterable[str] | None = None, **data
) -> Course:
    """Create (course=None) or update a course and, when given, the roles that must pass it."""
    unknown = set(data) - set(COURSE_FIELDS)
    if unknown:
        raise TypeError(f"unknown course fields: {sorted(unknown)}")
    course = course or Course()
    for key, value in data.items():
        setattr(course, key, value)
    course.full_clean()
    course.save()
    if required_for_roles is not None:
        wanted = set(required_for_roles)
        bad = wanted - set(Role.values)
        if bad:
            raise ValidationError({"required_for_roles": [_("Unknown role: %(role)s") % {"role": min(bad)}]})
        current = set(course.requirements.values_list("role", flat=True))
        if wanted != current:
            course.requirements.filter(role__in=current - wanted).delete()
            RoleRequirement.objects.bulk_create(
                [RoleRequirement(course=course, role=role) for role in sorted(wanted - current)]
            )
            qualification_refresh(roles=wanted ^ current)
        course._prefetched_objects_cache = {}
    return course


@transaction.atomic
def course_delete(*, course: Course, by) -> None:
    """Delete a course nobody has a record or a session of (PROTECT refuses otherwise); the roles
    that required it may become qualified."""
    roles = set(course.requirements.values_list("role", flat=True))
    course.delete()
    if roles:
        qualification_refresh(roles=roles)


# ---------------------------------------------------------------- records
def _check_record(record: TrainingRecord) -> None:
    errors: dict[str, list[str]] = {}
    if record.session_id is not None:
        if record.session.course_id != record.course_id:
            errors["session"] = [_("This session is of another course.")]
        elif record.session_date != record.session.date:
            errors["session_date"] = [_("The date must be the session's date.")]
    if record.result != Result.ENROLLED and record.session_date > timezone.localdate():
        errors.setdefault("result", []).append(_("A session that has not taken place has no result yet."))
    if record.result == Result.ENROLLED and record.score is not None:
        errors.setdefault("score", []).append(_("An enrolment has no score; record the result with it."))
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def training_record_save(*, record: TrainingRecord | None, by, **data) -> TrainingRecord:
    """Create (record=None) or update a training record, then refresh the qualification of its
    manager (and of its previous manager, when it moved). Hours default to the course's hours and the
    session date to the session's date."""
    unknown = set(data) - set(RECORD_FIELDS)
    if unknown:
        raise TypeError(f"unknown training record fields: {sorted(unknown)}")
    previous_manager = record.manager_id if record is not None else None
    record = record or TrainingRecord()
    for key, value in data.items():
        setattr(record, key, value)
    if record.session_id is not None and record.session_date is None:
        record.session_date = record.session.date
    if record.hours is None and record.course_id is not None:
        record.hours = record.course.hours
    record.full_clean(validate_constraints=False)
    _check_record(record)
    record.validate_constraints()
    record._history_user = by
    record.save()
    qualification_refresh(manager_ids={record.manager_id, previous_manager} - {None})
    return record


@transaction.atomic
def training_record_delete(*, record: TrainingRecord, by) -> None:
    manager_id = record.manager_id
    record._history_user = by
    record.delete()
    qualification_refresh(manager_ids=[manager_id])


# ---------------------------------------------------------------- a session's results in one go
@dataclass(frozen=True)
class SessionResults:
    session: Session
    passed: int
    failed: int
    removed: int


@transaction.atomic
def session_results_record(
    *,
    course: Course,
    date: dt.date,
    place: str,
    trainer: str,
    roster: Iterable[Manager],
    scores: dict[int, int],
    by,
) -> SessionResults:
    """Record a session's results: `scores` maps the id of each manager of `roster` who attended to
    their score; a score at or above the course's pass mark passes. Managers of the roster who did not
    attend lose any record they had for this session. All or nothing."""
    roster_ids = {m.pk for m in roster}
    strangers = set(scores) - roster_ids
    if strangers:
        raise ValidationError(_("Results were given for managers not on the list."))
    if date > timezone.localdate():
        raise ValidationError({"date": [_("A session that has not taken place has no result yet.")]})
    for score in scores.values():
        if not 0 <= score <= 100:
            raise ValidationError(_("Scores run from 0 to 100."))
    place = place.strip()
    session, _created = Session.objects.get_or_create(
        course=course, date=date, place=place, defaults={"trainer": trainer.strip()}
    )
    if session.trainer != trainer.strip():
        session.trainer = trainer.strip()
        session.full_clean()
        session.save(update_fields=["trainer", "updated_at"])

    absent = list(TrainingRecord.objects.filter(session=session, manager_id__in=roster_ids - set(scores)))
    for record in absent:  # one by one, so that the history says who removed each
        record._history_user = by
        record.delete()
    removed = len(absent)
    existing = {
        r.manager_id: r
        for r in TrainingRecord.objects.filter(course=course, session_date=date, manager_id__in=list(scores))
    }
    to_create, to_update = [], []
    passed = failed = 0
    for manager_id, score in sorted(scores.items()):
        result = Result.PASSED if score >= course.pass_mark else Result.FAILED
        passed += result == Result.PASSED
        failed += result == Result.FAILED
        record = existing.get(manager_id) or TrainingRecord(
            manager_id=manager_id, course=course, session_date=date
        )
        record.session = session
        record.hours = course.hours
        record.score = score
        record.result = result
        (to_update if record.pk else to_create).append(record)
    now = timezone.now()
    for record in to_update:
        record.updated_at = now
    bulk_create_with_history(to_create, TrainingRecord, default_user=by)
    bulk_update_with_history(
        to_update, TrainingRecord, ["session", "hours", "score", "result", "updated_at"], default_user=by
    )
    qualification_refresh(manager_ids=roster_ids)
    return SessionResults(session=session, passed=passed, failed=failed, removed=removed)


def manager_changed(*, manager_id: int) -> QualificationChange:
    """A manager was created or changed (perhaps their role): their qualification may differ."""
    return qualification_refresh(manager_ids=[manager_id])
