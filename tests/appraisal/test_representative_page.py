"""The page a customer representative opens from their signed link: no log-in, Chinese first, the
criteria with the evidence, scores sent once. Expired, spent, closed and tampered links get a clear
page (410 or 404), never a 500; the form is CSRF-protected; nothing of the other raters shows."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appraisal import services
from appraisal.links import link_token
from appraisal.models import Appraisal, Rater, Score
from tests.appraisal.core_helpers import CODES, all_scores, seat_representative
from tests.appraisal.test_pages import _form_scores


@pytest.fixture
def seat(world, appraisal_a):
    return seat_representative(world, appraisal_a, "周代表", organisation="甲钢铁厂")


def _url(seat) -> str:
    return reverse("appraisal:representative", args=[link_token(seat)])


def _form(value: int = 88, comment: str = "服务及时") -> dict:
    return _form_scores(value, comment)


def test_the_page_opens_without_log_in_in_chinese_with_the_manager_and_evidence(client, world, seat):
    Appraisal.objects.filter(pk=seat.appraisal_id).update(
        evidence={"on_time_rate": 91.7, "customers_gained": 3}
    )
    response = client.get(_url(seat))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert world.manager_a.user.display_name in html
    assert "91.7" in html
    assert [c.code for c, *_rest in response.context["score_rows"]] == CODES
    assert 'name="csrfmiddlewaretoken"' in html


def test_the_language_switch_gives_the_page_in_english(client, seat):
    client.cookies.load({"django_language": "en"})
    html = client.get(_url(seat)).content.decode()
    assert '<html lang="en">' in html
    assert "Send my scores" in html


def test_the_page_shows_no_other_raters_scores(client, world, appraisal_a, seat):
    lead = services.rater_seat_for(appraisal=appraisal_a, user=world.supervisor)
    services.scores_save(rater=lead, scores=all_scores(42, comment="主管的保密评语"), by=world.supervisor)
    html = client.get(_url(seat)).content.decode()
    assert "主管的保密评语" not in html
    assert world.supervisor.display_name not in html
    assert 'value="42"' not in html


def test_sending_every_score_thanks_and_spends_the_link(client, seat):
    response = client.post(_url(seat), _form())
    assert response.status_code == 200
    assert "appraisal/representative_done.html" in [t.name for t in response.templates]
    assert sorted(Score.objects.filter(rater=seat).values_list("score", flat=True)) == [88] * len(CODES)
    seat.refresh_from_db()
    assert seat.submitted_at is not None
    # the same link again: used
    again = client.get(_url(seat))
    assert again.status_code == 410
    assert client.post(_url(seat), _form(10)).status_code == 410
    assert set(Score.objects.filter(rater=seat).values_list("score", flat=True)) == {88}


def test_a_missing_criterion_is_marked_and_the_link_still_works(client, seat):
    data = _form() | {f"s-score_{CODES[-1]}": ""}
    response = client.post(_url(seat), data)
    assert response.status_code == 400
    assert f"score_{CODES[-1]}" in response.context["form"].errors
    assert not Score.objects.filter(rater=seat).exists()
    assert client.get(_url(seat)).status_code == 200


def test_an_expired_link_answers_410_with_a_clear_page(client, seat):
    token = link_token(seat)
    Rater.objects.filter(pk=seat.pk).update(link_expires_at=timezone.now() - dt.timedelta(minutes=1))
    # the version in the token is the expiry it was issued with: re-sign as the seat now stands
    seat.refresh_from_db()
    for url in (reverse("appraisal:representative", args=[link_token(seat)]),):
        response = client.get(url)
        assert response.status_code == 410
        assert "appraisal/link_error.html" in [t.name for t in response.templates]
    # the old token names an expiry that is no longer the seat's: not valid
    assert client.get(reverse("appraisal:representative", args=[token])).status_code == 404


def test_a_link_of_an_appraisal_no_longer_scoring_answers_410(client, world, appraisal_a, seat):
    services.appraisal_submit(appraisal=appraisal_a, by=world.supervisor)
    assert client.get(_url(seat)).status_code == 410


@pytest.mark.parametrize(
    "token",
    ["1", "not-a-token", "x" * 5000, "周代表", "eyJyIjoxfQ:1abc:def"],
)
def test_a_tampered_or_unknown_link_answers_404_never_500(client, seat, token):
    response = client.get(reverse("appraisal:representative", args=[token]))
    assert response.status_code == 404
    assert client.post(reverse("appraisal:representative", args=[token]), _form()).status_code == 404


def test_a_tampered_signature_does_not_work(client, seat):
    token = link_token(seat)
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert client.get(reverse("appraisal:representative", args=[forged])).status_code == 404


def test_a_removed_seats_link_stops_working(client, world, seat):
    url = _url(seat)
    services.panel_remove(rater=seat, by=world.supervisor)
    assert client.get(url).status_code == 404


def test_the_form_needs_the_csrf_token(seat):
    client = Client(enforce_csrf_checks=True)
    assert client.post(_url(seat), _form()).status_code == 403
    assert not Score.objects.filter(rater=seat).exists()


def test_the_link_page_records_the_representative_not_the_signed_in_user(client, world, seat):
    # the link is the representative's key: a session in the same browser is not the author
    client.force_login(world.supervisor)
    response = client.post(_url(seat), _form())
    assert response.status_code == 200
    seat.refresh_from_db()
    assert seat.submitted_at is not None
    assert Score.objects.filter(rater=seat).first().history.first().history_user is None


@pytest.mark.parametrize("size", [2, 10])
def test_the_page_runs_a_fixed_number_of_queries(
    client, world, appraisal_a, seat, size, django_assert_max_num_queries
):
    for i in range(size):
        seat_representative(world, appraisal_a, f"代表{i}")
    with django_assert_max_num_queries(4):
        assert client.get(_url(seat)).status_code == 200


def test_a_second_send_racing_the_first_gets_the_used_page(client, seat, monkeypatch):
    # given the page was checked before the first send spent the link (two taps, two requests)
    import appraisal.views

    checked = appraisal.views.rater_for_token(link_token(seat))
    client.post(_url(seat), _form())
    monkeypatch.setattr(appraisal.views, "rater_for_token", lambda token: checked)
    # when the second request reaches the service, the locked seat is spent
    response = client.post(_url(seat), _form(10))
    assert response.status_code == 410
    assert set(Score.objects.filter(rater=seat).values_list("score", flat=True)) == {88}
