"""The scoring form's errors: each says what is wrong with what was typed, and only that."""

import pytest
from django.utils import translation

from appraisal.forms import ScoresForm
from tests.factories import AppraisalCycleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def _form(score, comment):
    criteria = list(AppraisalCycleFactory().criteria.order_by("position"))
    code = criteria[0].code
    return ScoresForm({f"score_{code}": score, f"comment_{code}": comment}, criteria=criteria), code


def test_a_score_above_100_with_a_comment_gets_the_range_error_only():
    # given: a score of 120 typed with a comment
    form, code = _form("120", "服务及时")

    # when: the form is checked
    valid = form.is_valid()

    # then: the score is refused for its range, not because "a comment needs a score"
    assert not valid
    assert form.errors[f"score_{code}"] == ["确保该值小于或等于100。"]


def test_a_comment_without_a_score_still_asks_for_the_score():
    # given: a comment typed with no score
    form, code = _form("", "服务及时")

    # when / then: the score is asked for
    assert not form.is_valid()
    assert form.errors[f"score_{code}"] == ["填写评语时请同时填写评分。"]
