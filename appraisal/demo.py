"""Demo appraisal: the cycle of the last full year, opened by the administrator, and the demo
supervisor's team (supervisor1) worked through part of it so the review page has something to show:
each panel has a collaborating colleague and a named customer representative, most scores are
entered, a few appraisals are submitted for review and one is finalized. Deterministic for a given
seed; a second run changes nothing (the cycle of that year exists). `manage.py seed_demo` calls
`seed_demo` after the managers, visits and training exist."""

import datetime as dt
import random

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from appraisal import services
from appraisal.evidence import evidence_compute
from appraisal.models import Appraisal, AppraisalCycle, AppraisalStatus, Rater, RaterKind, Score
from crm.demo.logins import ADMIN
from customers.models import Customer

DEFAULT_SEED = 20260101
DEMO_SUPERVISOR = "supervisor1"
REPRESENTATIVES = ["周建华", "吴秀英", "郑国强", "冯丽娟", "陈立新", "褚海燕", "卫东升", "蒋玉兰"]
COMMENTS = {
    "high": ["走访及时，服务热情", "主动上门解决问题", "响应迅速，沟通顺畅"],
    "mid": ["总体较好，个别事项跟进偏慢", "基本按计划完成", "服务规范"],
    "low": ["走访不及时", "反馈问题处理较慢", "需加强业务学习"],
}


def last_full_year(until: dt.date | None) -> int:
    day = until or timezone.localdate()
    return day.year if day.month == 12 else day.year - 1


def _people(user_model):
    """The administrator and the supervisor whose team is worked: the demo's supervisor1, else (a
    smaller data set) the user with the most direct reports who manage customers."""
    admin = (
        user_model.objects.filter(username=ADMIN).first()
        or user_model.objects.filter(is_superuser=True).first()
    )
    lead = user_model.objects.filter(username=DEMO_SUPERVISOR).first()
    if lead is None:
        lead = (
            user_model.objects.filter(reports__manager_profile__isnull=False)
            .annotate(team=Count("reports"))
            .order_by("-team", "pk")
            .first()
        )
    return admin, lead


def _score(rng: random.Random, level: float) -> int:
    return max(0, min(100, round(rng.gauss(level, 5))))


def _comment(rng: random.Random, value: int) -> str:
    band = "high" if value >= 88 else "mid" if value >= 70 else "low"
    return rng.choice(COMMENTS[band]) if rng.random() < 0.6 else ""


@transaction.atomic
def seed_appraisal_demo(*, seed: int = DEFAULT_SEED, until: dt.date | None = None) -> dict[str, int]:
    year = last_full_year(until)
    empty = {"year": year, "appraisals": 0, "scores": 0, "review": 0, "finalized": 0}
    if AppraisalCycle.objects.filter(year=year).exists():
        return empty
    admin, lead = _people(get_user_model())
    if admin is None or lead is None:
        return empty
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets  # nosec B311
    cycle = services.cycle_create(year=year, by=admin)
    created = services.cycle_open(cycle=cycle, by=admin)
    evidence_compute(cycle=cycle)  # now, for the page; the job enqueued on commit does it again
    team = list(
        Appraisal.objects.filter(cycle=cycle, manager__user__supervisor=lead)
        .select_related("cycle", "manager__user")
        .order_by("manager__employee_no")
    )
    customer_of = {}
    for manager_id, name in (
        Customer.objects.filter(manager_id__in=[a.manager_id for a in team])
        .order_by("-contracted_capacity_kva", "pk")
        .values_list("manager_id", "name")
    ):
        customer_of.setdefault(manager_id, name)
    codes = list(cycle.criteria.order_by("position").values_list("code", flat=True))

    def scores(level: float) -> list[dict]:
        values = [_score(rng, level) for _code in codes]
        return [
            {"criterion": code, "score": value, "comment": _comment(rng, value)}
            for code, value in zip(codes, values, strict=True)
        ]

    # Scores are written in bulk (with their history, authored by each rater as scores_save would)
    # and each appraisal recomputed once: one service call per score sheet took most of the seed.
    criteria = {c.code: c for c in cycle.criteria.all()}
    sheets: list[Score] = []
    spent: list[Rater] = []
    now = timezone.now()

    def enter(seat: Rater, level: float) -> None:
        for item in scores(level):
            score = Score(
                rater=seat,
                criterion=criteria[item["criterion"]],
                score=item["score"],
                comment=item["comment"],
            )
            score._history_user = seat.user
            if seat.user_id is None:
                score._change_reason = f"representative link: {seat.name}"[:100]
            sheets.append(score)
        seat.submitted_at, seat._history_user = now, seat.user
        spent.append(seat)

    for index, appraisal in enumerate(team):
        level = rng.uniform(62, 94)  # how well this manager did, as every rater sees it
        colleague = team[(index + 1) % len(team)].manager.user if len(team) > 1 else None
        seats = []
        lead_seat = services.rater_seat_for(appraisal=appraisal, user=lead)
        if lead_seat is not None:
            seats.append(lead_seat)
        if colleague is not None:
            seats.append(
                services.panel_add(appraisal=appraisal, kind=RaterKind.COLLABORATOR, user=colleague, by=lead)
            )
        representative = services.panel_add(
            appraisal=appraisal,
            kind=RaterKind.CUSTOMER_REPRESENTATIVE,
            name=REPRESENTATIVES[index % len(REPRESENTATIVES)],
            organisation=customer_of.get(appraisal.manager_id, ""),
            by=lead,
        )
        # Most raters have scored; now and then one is still to come, and one colleague is harsh.
        for seat in seats:
            if index and rng.random() < 0.15:
                continue
            harsh = seat.kind == RaterKind.COLLABORATOR and index == 2
            enter(seat, level - 30 if harsh else level)
        if index % 3 != 2:
            enter(representative, level + 3)
    bulk_create_with_history(sheets, Score, batch_size=500)
    bulk_update_with_history(spent, Rater, ["submitted_at"], batch_size=500)
    for appraisal in team:
        services.appraisal_recompute(appraisal=appraisal, by=lead)
    entered = len(spent)
    # The first few go to review (their evidence is computed again), the first of them is finalized.
    with_score = set(
        Appraisal.objects.filter(pk__in=[a.pk for a in team], score__isnull=False).values_list(
            "pk", flat=True
        )
    )
    scored = [a for a in team if a.pk in with_score]
    submitted = scored[: max(1, len(scored) // 3)] if scored else []
    for appraisal in submitted:
        services.appraisal_submit(appraisal=appraisal, by=lead)
    if submitted:
        evidence_compute(cycle=cycle, appraisal_ids=[a.pk for a in submitted])
        services.appraisal_finalize(appraisal=submitted[0], by=lead)
    return {
        "year": year,
        "appraisals": created,
        "scores": entered,
        "review": Appraisal.objects.filter(cycle=cycle, status=AppraisalStatus.REVIEW).count(),
        "finalized": Appraisal.objects.filter(cycle=cycle, status=AppraisalStatus.FINALIZED).count(),
    }


def seed_demo(*, seed: int, until: dt.date | None = None) -> str:
    """The entry point `manage.py seed_demo` calls for each app's demo data: what it made, in a line."""
    return _(
        "Appraisal %(year)s: %(appraisals)s appraisals opened; %(scores)s score sheets entered, "
        "%(review)s under review, %(finalized)s finalized."
    ) % seed_appraisal_demo(seed=seed, until=until)
