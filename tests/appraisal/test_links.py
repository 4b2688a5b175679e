"""A customer representative's signed link: it works for its seat only, until it expires, until the
representative has submitted, and not after the seat was re-issued or removed."""

import datetime as dt

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from appraisal import services
from appraisal.links import (
    SALT,
    LinkClosed,
    LinkError,
    LinkExpired,
    LinkInvalid,
    LinkUsed,
    link_token,
    rater_for_token,
)
from appraisal.models import Appraisal, AppraisalStatus, Rater
from tests.appraisal.core_helpers import all_scores, appraisal_of, open_cycle


@pytest.fixture
def seat(world):
    cycle = open_cycle(world)
    return services.panel_add(
        appraisal=appraisal_of(cycle, world.manager_a),
        kind="customer_representative",
        name="王厂长",
        by=world.supervisor,
    )


def test_the_link_opens_its_seat(seat):
    found = rater_for_token(link_token(seat))
    assert found == seat
    assert found.appraisal.manager.user.username == "manager_a"  # loaded for the page


def test_the_link_is_a_url_of_the_representative_page(seat):
    token = link_token(seat)
    assert reverse("appraisal:representative", args=[token]).endswith(f"/{token}/")


def test_an_expired_link_is_refused(seat):
    Rater.objects.filter(pk=seat.pk).update(link_expires_at=timezone.now() - dt.timedelta(seconds=1))
    seat.refresh_from_db()
    with pytest.raises(LinkExpired):
        rater_for_token(link_token(seat))


def test_a_spent_link_is_refused(seat):
    token = link_token(seat)
    services.scores_save(rater=seat, scores=all_scores(85))
    with pytest.raises(LinkUsed):
        rater_for_token(token)


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-2] + "xx", lambda t: "x" + t, lambda t: "", lambda t: "a:b:c"]
)
def test_a_tampered_link_is_invalid(seat, mangle):
    with pytest.raises(LinkInvalid):
        rater_for_token(mangle(link_token(seat)))


def test_a_link_signed_for_another_purpose_is_invalid(seat):
    token = signing.dumps({"r": seat.pk, "a": seat.appraisal_id, "v": 0}, salt="something-else")
    with pytest.raises(LinkInvalid):
        rater_for_token(token)


def test_a_link_naming_another_appraisal_is_invalid(world, seat):
    other = appraisal_of(seat.appraisal.cycle, world.manager_b)
    version = int(seat.link_expires_at.timestamp())
    token = signing.dumps({"r": seat.pk, "a": other.pk, "v": version}, salt=SALT)
    with pytest.raises(LinkInvalid):
        rater_for_token(token)


def test_a_link_to_a_users_seat_is_invalid(world, seat):
    supervisor_seat = Rater.objects.get(appraisal=seat.appraisal, user=world.supervisor)
    token = signing.dumps({"r": supervisor_seat.pk, "a": seat.appraisal_id, "v": 0}, salt=SALT)
    with pytest.raises(LinkInvalid):
        rater_for_token(token)


def test_reissuing_the_seat_voids_the_old_link_and_lets_them_score_again(world, seat):
    old = link_token(seat)
    services.scores_save(rater=seat, scores=all_scores(85))
    services.panel_reissue_link(rater=seat, by=world.supervisor)
    seat.refresh_from_db()
    with pytest.raises(LinkInvalid):
        rater_for_token(old)
    assert rater_for_token(link_token(seat)) == seat
    services.scores_save(rater=seat, scores=all_scores(60))
    assert set(seat.scores.values_list("score", flat=True)) == {60}


def test_a_removed_seats_link_is_invalid(world, seat):
    token = link_token(seat)
    services.panel_remove(rater=seat, by=world.supervisor)
    with pytest.raises(LinkInvalid):
        rater_for_token(token)


def test_a_link_stops_when_the_appraisal_leaves_scoring(seat):
    Appraisal.objects.filter(pk=seat.appraisal_id).update(status=AppraisalStatus.REVIEW)
    with pytest.raises(LinkClosed):
        rater_for_token(link_token(seat))


def test_every_link_error_has_a_message_for_the_representative():
    for error in (LinkInvalid, LinkExpired, LinkUsed, LinkClosed):
        assert issubclass(error, LinkError)
        assert str(error().message)
