"""The appraisal's audit trail: every score change and every status change is in the history with who
made it; a representative's scores say they came through the link; a reopening keeps its reason."""

from appraisal import services
from appraisal.models import Appraisal, AppraisalStatus, Score
from crm.accounts import roles
from tests.appraisal.core_helpers import CODES, all_scores
from tests.factories import UserFactory


def _newest(history):
    return history.order_by("-history_date", "-history_id")


def test_a_score_change_is_recorded_with_who_and_from_what(world, appraisal_a):
    seat = appraisal_a.raters.get(user=world.supervisor)
    services.scores_save(rater=seat, scores=all_scores(70), by=world.supervisor)
    services.scores_save(
        rater=seat, scores=[{"criterion": CODES[0], "score": 75, "comment": "复核"}], by=world.supervisor
    )
    score = Score.objects.get(rater=seat, criterion__code=CODES[0])
    records = list(_newest(score.history))
    assert [(r.score, r.history_user) for r in records] == [(75, world.supervisor), (70, world.supervisor)]
    assert records[0].history_type == "~"


def test_saving_the_same_scores_again_records_nothing_new(world, appraisal_a):
    seat = appraisal_a.raters.get(user=world.supervisor)
    services.scores_save(rater=seat, scores=all_scores(70), by=world.supervisor)
    before = Score.history.count()
    services.scores_save(rater=seat, scores=all_scores(70), by=world.supervisor)
    assert Score.history.count() == before


def test_the_appraisals_score_and_status_changes_are_recorded_with_who(world, appraisal_a):
    colleague = UserFactory(role=roles.ACCOUNT_MANAGER)
    seat = services.panel_add(appraisal=appraisal_a, kind="collaborator", user=colleague, by=world.supervisor)
    services.scores_save(
        rater=appraisal_a.raters.get(user=world.supervisor), scores=all_scores(80), by=world.supervisor
    )
    services.scores_save(rater=seat, scores=all_scores(70), by=colleague)
    services.appraisal_submit(appraisal=appraisal_a, by=world.supervisor)
    services.appraisal_finalize(appraisal=appraisal_a, by=world.supervisor)
    trail = [
        (r.status, str(r.score) if r.score is not None else None, r.history_user)
        for r in reversed(list(_newest(Appraisal.history.filter(id=appraisal_a.pk))))
    ]
    assert trail == [
        (AppraisalStatus.SCORING, None, world.admin),  # opened
        (AppraisalStatus.SCORING, "80.00", world.supervisor),  # the supervisor scored
        (AppraisalStatus.SCORING, "77.14", colleague),  # the colleague scored
        (AppraisalStatus.REVIEW, "77.14", world.supervisor),
        (AppraisalStatus.FINALIZED, "77.14", world.supervisor),
    ]


def test_a_representatives_scores_are_marked_as_sent_through_the_link(world, appraisal_a):
    seat = services.panel_add(
        appraisal=appraisal_a, kind="customer_representative", name="王厂长", by=world.supervisor
    )
    services.scores_save(rater=seat, scores=all_scores(88))
    record = Score.history.filter(rater_id=seat.pk).first()
    assert record.history_user is None
    assert record.history_change_reason == "representative link: 王厂长"


def test_a_reopening_keeps_its_reason_and_who(world, appraisal_a, api):
    services.scores_save(
        rater=appraisal_a.raters.get(user=world.supervisor), scores=all_scores(65), by=world.supervisor
    )
    services.appraisal_submit(appraisal=appraisal_a, by=world.supervisor)
    services.appraisal_finalize(appraisal=appraisal_a, by=world.supervisor)
    response = api(world.admin).post(
        f"/api/v1/appraisals/{appraisal_a.pk}/reopen/", {"reason": "客户代表评分录错"}, format="json"
    )
    assert response.status_code == 200
    newest = _newest(appraisal_a.history).first()
    assert newest.status == AppraisalStatus.REVIEW
    assert newest.history_user == world.admin
    assert newest.history_change_reason == "客户代表评分录错"


def test_panel_changes_are_recorded_with_who(world, appraisal_a):
    colleague = UserFactory(role=roles.ACCOUNT_MANAGER)
    seat = services.panel_add(appraisal=appraisal_a, kind="collaborator", user=colleague, by=world.supervisor)
    services.panel_remove(rater=seat, by=world.admin)
    records = list(_newest(seat.history.model.objects.filter(id=seat.pk)))
    assert [(r.history_type, r.history_user) for r in records] == [
        ("-", world.admin),
        ("+", world.supervisor),
    ]
