"""Demo training data: the basic, professional and skills courses of domain.md, what each role must
pass, sessions over the past year and records that leave a few managers unqualified (and enrolled in
an upcoming session). Deterministic for a given seed. `manage.py seed_demo` calls `seed_demo` after
the managers exist."""

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.common.months import add_months
from managers.models import Manager, Role
from training.models import Category, Course, Delivery, Result, RoleRequirement, Session, TrainingRecord
from training.services import qualification_refresh

ALL_ROLES = tuple(Role.values)
FRONT_LINE = (Role.VIP_MANAGER, Role.KEY_ACCOUNT_MANAGER)
TERRITORY = (Role.COMMUNITY_MANAGER, Role.TRANSFORMER_DISTRICT_MANAGER)

# code, title, category, delivery, hours, roles that must pass it
COURSES = [
    ("JC01", "供电服务政策法规", Category.BASIC, Delivery.CENTRALIZED, "8", ALL_ROLES),
    ("JC02", "客户安全用电与用电常识", Category.BASIC, Delivery.ON_THE_JOB, "4", ALL_ROLES),
    ("ZY01", "电力市场营销", Category.PROFESSIONAL, Delivery.CENTRALIZED, "8", FRONT_LINE),
    ("ZY02", "抄表业务", Category.PROFESSIONAL, Delivery.ON_THE_JOB, "4", TERRITORY),
    ("ZY03", "电费核算与回收", Category.PROFESSIONAL, Delivery.ON_THE_JOB, "6", ALL_ROLES),
    ("ZY04", "业扩报装", Category.PROFESSIONAL, Delivery.CENTRALIZED, "8", FRONT_LINE),
    ("JN01", "公文写作", Category.SKILLS, Delivery.ON_THE_JOB, "4", FRONT_LINE),
    ("JN02", "优质服务与礼仪", Category.SKILLS, Delivery.ON_THE_JOB, "4", ALL_ROLES),
]
PLACES = ["县公司培训中心", "城关供电所会议室", "营销部多功能厅", "河口供电所会议室"]
TRAINERS = ["王建国", "刘敏", "陈志强", "杨丽", "赵德胜", "孙红梅"]
DEFAULT_SEED = 20260101


@transaction.atomic
def seed_training_demo(*, seed: int = DEFAULT_SEED, until: dt.date | None = None) -> dict[str, int]:
    """Create the demo courses, requirements, sessions and records (nothing when the demo courses
    already have records), then bring every manager's qualification up to date."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets  # nosec B311
    today = timezone.localdate()
    last_day = min(today, _month_end(until) if until else today)
    courses = _courses()
    if TrainingRecord.objects.filter(course__in=courses.values()).exists():
        return {"courses": len(courses), "sessions": 0, "records": 0, "unqualified": _unqualified()}

    managers = list(Manager.objects.filter(active=True).order_by("pk"))
    sessions = _sessions(rng=rng, courses=courses, last_day=last_day)
    required = {
        role: [courses[code] for code, *_rest, roles in COURSES if role in roles] for role in ALL_ROLES
    }
    # A few managers keep a gap: one required course failed or never taken.
    gaps = set(rng.sample([m.pk for m in managers], k=min(len(managers), max(2, len(managers) // 8))))

    records: list[TrainingRecord] = []
    missing: dict[int, Course] = {}
    for manager in managers:
        courses_due = required[manager.role]
        skipped = rng.choice(courses_due) if manager.pk in gaps and courses_due else None
        for course in courses_due:
            past = [s for s in sessions[course.code] if s.date <= last_day]
            first, *later = rng.sample(past, k=len(past))
            if course is skipped:
                missing[manager.pk] = course
                if rng.random() < 0.5:  # failed it; otherwise never took it
                    records.append(_record(manager, course, first, rng.randint(35, course.pass_mark - 1)))
                continue
            if later and rng.random() < 0.12:  # failed once, passed the retake
                records.append(_record(manager, course, first, rng.randint(40, course.pass_mark - 1)))
                first = later[0]
            records.append(_record(manager, course, first, rng.randint(course.pass_mark, 98)))
        for course in courses.values():  # an optional course now and then
            if course not in courses_due and rng.random() < 0.25:
                session = rng.choice([s for s in sessions[course.code] if s.date <= last_day])
                records.append(_record(manager, course, session, rng.randint(55, 95)))
    # Those with a gap are enrolled in the next session of what they lack.
    for manager_id, course in missing.items():
        upcoming = sessions[course.code][-1]
        if upcoming.date > today:
            records.append(
                TrainingRecord(
                    manager_id=manager_id,
                    course=course,
                    session=upcoming,
                    session_date=upcoming.date,
                    hours=course.hours,
                    result=Result.ENROLLED,
                )
            )
    TrainingRecord.objects.bulk_create(records, ignore_conflicts=True)
    qualification_refresh()
    return {
        "courses": len(courses),
        "sessions": sum(len(s) for s in sessions.values()),
        "records": len(records),
        "unqualified": _unqualified(),
    }


def seed_demo(*, seed: int, until: dt.date | None = None) -> str:
    """The entry point `manage.py seed_demo` calls for each app's demo data: what it made, in a line."""
    return _(
        "Training: %(courses)s courses, %(sessions)s sessions, %(records)s records; "
        "%(unqualified)s managers not qualified."
    ) % seed_training_demo(seed=seed, until=until)


def _courses() -> dict[str, Course]:
    courses = {}
    for code, title, category, delivery, hours, roles in COURSES:
        course, _created = Course.objects.get_or_create(
            code=code,
            defaults={"title": title, "category": category, "delivery": delivery, "hours": Decimal(hours)},
        )
        RoleRequirement.objects.bulk_create(
            [RoleRequirement(course=course, role=role) for role in roles], ignore_conflicts=True
        )
        courses[code] = course
    return courses


def _sessions(
    *, rng: random.Random, courses: dict[str, Course], last_day: dt.date
) -> dict[str, list[Session]]:
    """Three past sessions of each course within the year before `last_day`, and one upcoming."""
    by_course: dict[str, list[Session]] = {}
    for code, course in courses.items():
        days = sorted(rng.sample(range(10, 340), k=3), reverse=True)
        dates = [last_day - dt.timedelta(days=d) for d in days]
        dates.append(timezone.localdate() + dt.timedelta(days=rng.randint(7, 30)))
        by_course[code] = [
            Session.objects.get_or_create(
                course=course,
                date=date,
                place=rng.choice(PLACES),
                defaults={"trainer": rng.choice(TRAINERS)},
            )[0]
            for date in dates
        ]
    return by_course


def _record(manager: Manager, course: Course, session: Session, score: int) -> TrainingRecord:
    return TrainingRecord(
        manager_id=manager.pk,
        course=course,
        session=session,
        session_date=session.date,
        hours=course.hours,
        result=Result.PASSED if score >= course.pass_mark else Result.FAILED,
        score=score,
    )


def _month_end(day: dt.date) -> dt.date:
    return add_months(day, 1) - dt.timedelta(days=1)


def _unqualified() -> int:
    return Manager.objects.filter(active=True, qualified=False).count()
