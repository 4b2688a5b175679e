"""consumption/bulk/: upsert many monthly records, all or nothing unless ?partial=true, with per-row
errors; each customer's annual consumption is recomputed from what landed by the reclassification
the import queues once it commits."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from customers.api import ConsumptionBulkView
from customers.models import ConsumptionRecord
from tests.factories import ConsumptionFactory, CustomerFactory, UserFactory

URL = "/api/v1/consumption/bulk/"


@pytest.fixture(autouse=True)
def english(settings):
    """Messages are compared in English, whatever translations the catalogue holds."""
    settings.LANGUAGE_CODE = "en"


def _row(customer, period="2026-01", kwh="1000", **extra):
    return {"account_no": customer.account_no, "period": period, "kwh": kwh, **extra}


def _months_back(n: int) -> list[str]:
    """The n months before the current one, oldest first, as YYYY-MM."""
    first = timezone.localdate().replace(day=1)
    months = []
    for _ in range(n):
        first = (first - dt.timedelta(days=1)).replace(day=1)
        months.append(f"{first:%Y-%m}")
    return months[::-1]


# ---------------------------------------------------------------- writes
def test_integration_client_creates_records(world, api):
    rows = [_row(world.customer_a, "2026-01", "1200.5", amount_yuan="672.28", max_demand_kw="15")]
    response = api(world.integration).post(URL, rows, format="json")
    assert response.status_code == 200
    assert response.json() == {"created": 1, "updated": 0, "rejected": 0, "written": True, "errors": []}
    record = ConsumptionRecord.objects.get(customer=world.customer_a)
    assert (record.period, record.kwh, record.amount_yuan, record.max_demand_kw) == (
        dt.date(2026, 1, 1),
        Decimal("1200.5"),
        Decimal("672.28"),
        Decimal("15"),
    )


def test_upsert_counts_created_and_updated_rows(world, api):
    # Given January already on record
    ConsumptionFactory(customer=world.customer_a, period=dt.date(2026, 1, 1), kwh=Decimal("1"))
    rows = [_row(world.customer_a, "2026-01", "500"), _row(world.customer_a, "2026-02", "600")]
    # when January and February are sent
    body = api(world.integration).post(URL, rows, format="json").json()
    # then January is updated and February created
    assert (body["created"], body["updated"]) == (1, 1)
    assert ConsumptionRecord.objects.get(customer=world.customer_a, period="2026-01-01").kwh == Decimal("500")


def test_rows_may_be_wrapped_in_an_object(world, api):
    response = api(world.integration).post(URL, {"rows": [_row(world.customer_a)]}, format="json")
    assert response.status_code == 200
    assert response.json()["created"] == 1


# ---------------------------------------------------------------- all or nothing
def test_one_bad_row_writes_nothing_and_answers_400_with_the_row(world, api):
    rows = [_row(world.customer_a, "2026-01"), _row(world.customer_b, "2026-01", "-5")]
    response = api(world.integration).post(URL, rows, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["written"] is False
    assert body["rejected"] == 1
    assert body["errors"] == [
        {
            "row": 2,
            "account_no": world.customer_b.account_no,
            "errors": {"kwh": [body["errors"][0]["errors"]["kwh"][0]]},
        }
    ]
    assert not ConsumptionRecord.objects.exists()


def test_partial_writes_the_good_rows_and_reports_the_bad(world, api):
    rows = [_row(world.customer_a, "2026-01"), _row(world.customer_b, "2026-01", "-5")]
    response = api(world.integration).post(f"{URL}?partial=true", rows, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["rejected"], body["written"]) == (1, 1, True)
    assert [e["row"] for e in body["errors"]] == [2]
    assert list(ConsumptionRecord.objects.values_list("customer_id", flat=True)) == [world.customer_a.pk]


def test_every_bad_row_is_reported_not_only_the_first(world, api):
    rows = [_row(world.customer_a, "bad"), _row(world.customer_a, "2026-02"), _row(world.customer_b, kwh="x")]
    body = api(world.integration).post(URL, rows, format="json").json()
    assert [e["row"] for e in body["errors"]] == [1, 3]


# ---------------------------------------------------------------- refusals, each with its message
def _errors_of(response) -> dict:
    assert response.status_code == 400
    (row,) = response.json()["errors"]
    return row["errors"]


def test_future_period_is_refused(world, api):
    next_year = f"{timezone.localdate().year + 1}-01"
    errors = _errors_of(api(world.integration).post(URL, [_row(world.customer_a, next_year)], format="json"))
    assert errors == {"period": ["The period is in the future."]}


def test_negative_kwh_is_refused(world, api):
    errors = _errors_of(api(world.integration).post(URL, [_row(world.customer_a, kwh="-1")], format="json"))
    assert errors == {"kwh": ["Must not be negative."]}


def test_absurd_kwh_is_refused(world, api):
    rows = [_row(world.customer_a, kwh="99999999999999")]
    errors = _errors_of(api(world.integration).post(URL, rows, format="json"))
    assert errors == {"kwh": ["The value is implausibly large."]}


def test_absurd_maximum_demand_is_refused_not_a_server_error(world, api):
    rows = [_row(world.customer_a, max_demand_kw="10000000000")]
    errors = _errors_of(api(world.integration).post(URL, rows, format="json"))
    assert list(errors) == ["max_demand_kw"]


def test_missing_kwh_is_refused(world, api):
    row = {"account_no": world.customer_a.account_no, "period": "2026-01"}
    errors = _errors_of(api(world.integration).post(URL, [row], format="json"))
    assert errors == {"kwh": ["This field is required."]}


def test_malformed_period_is_refused(world, api):
    errors = _errors_of(api(world.integration).post(URL, [_row(world.customer_a, "2026-13")], format="json"))
    assert errors == {"period": ["Period must look like YYYY-MM."]}


def test_unknown_account_is_refused(world, api):
    row = {"account_no": "0000000000", "period": "2026-01", "kwh": "1"}
    errors = _errors_of(api(world.integration).post(URL, [row], format="json"))
    assert errors == {"account_no": ["No customer with this account number."]}


def test_duplicate_rows_are_refused_with_the_first_rows_number(world, api):
    rows = [_row(world.customer_a, "2026-01"), _row(world.customer_a, "2026-01", "2")]
    errors = _errors_of(api(world.integration).post(URL, rows, format="json"))
    assert errors == {"period": ["Row 1 already gives this account and period."]}


def test_a_row_that_is_not_an_object_is_refused(world, api):
    errors = _errors_of(api(world.integration).post(URL, ["not a row"], format="json"))
    assert errors == {"non_field_errors": ["Each row must be an object."]}


@pytest.mark.parametrize("body", [{"account_no": "1"}, "text", 5, [], {"rows": "x"}, None])
def test_a_body_that_is_not_a_list_of_rows_is_refused(world, api, body):
    response = api(world.integration).post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Send a non-empty JSON list of rows."]}


def test_too_many_rows_are_refused(world, api, monkeypatch):
    monkeypatch.setattr(ConsumptionBulkView, "MAX_ROWS", 2)
    rows = [_row(world.customer_a, period) for period in ("2026-01", "2026-02", "2026-03")]
    response = api(world.integration).post(URL, rows, format="json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert not ConsumptionRecord.objects.exists()


def test_a_body_larger_than_the_upload_limit_answers_413(world, api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    rows = [_row(world.customer_a, "2026-01"), _row(world.customer_a, "2026-02")]
    assert api(world.integration).post(URL, rows, format="json").status_code == 413


def test_account_outside_the_callers_scope_is_refused_like_an_unknown_one(world, api):
    # Given a user allowed to write consumption whose scope is only manager A's portfolio
    clerk = UserFactory(username="clerk", supervisor=None)
    clerk.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_consumptionrecord", "change_consumptionrecord"])
    )
    world.manager_a.user.supervisor = clerk
    world.manager_a.user.save()
    # when they send a row for customer B
    response = api(clerk).post(URL, [_row(world.customer_b)], format="json")
    # then it reads exactly like an account that does not exist
    assert _errors_of(response) == {"account_no": ["No customer with this account number."]}


# ---------------------------------------------------------------- permissions
def test_manager_cannot_send_consumption(world, api):
    response = api(world.manager_a.user).post(URL, [_row(world.customer_a)], format="json")
    assert response.status_code == 403
    assert not ConsumptionRecord.objects.exists()


def test_anonymous_cannot_send_consumption(world, api):
    assert api().post(URL, [_row(world.customer_a)], format="json").status_code == 401


# ---------------------------------------------------------------- the annual figure
@pytest.fixture
def landed(world, api, django_capture_on_commit_callbacks):
    """POST rows as the integration client and let the jobs queued on commit run (eagerly, as a
    worker would): the reclassification that follows an import writes the annual figures."""

    def post(rows):
        with django_capture_on_commit_callbacks(execute=True):
            response = api(world.integration).post(URL, rows, format="json")
        assert response.status_code == 200, response.content
        return response

    return post


def test_twelve_months_give_their_sum_as_annual_consumption(world, landed):
    landed([_row(world.customer_a, month, "1000") for month in _months_back(12)])
    world.customer_a.refresh_from_db()
    assert world.customer_a.annual_consumption_kwh == Decimal("12000")
    assert f"{world.customer_a.latest_period:%Y-%m}" == _months_back(1)[0]


def test_three_months_are_annualised(world, landed):
    months = zip(_months_back(3), ("100", "200", "300"), strict=True)
    landed([_row(world.customer_a, month, kwh) for month, kwh in months])
    world.customer_a.refresh_from_db()
    assert world.customer_a.annual_consumption_kwh == Decimal("2400")  # 600 kWh in 3 months x 4


def test_only_the_trailing_twelve_months_count(world, landed):
    months = _months_back(14)
    landed(
        [_row(world.customer_a, m, "5000") for m in months[:2]]
        + [_row(world.customer_a, m) for m in months[2:]]
    )
    world.customer_a.refresh_from_db()
    assert world.customer_a.annual_consumption_kwh == Decimal("12000")


def test_an_update_recomputes_the_annual_figure(world, landed):
    months = _months_back(2)
    landed([_row(world.customer_a, m, "100") for m in months])
    landed([_row(world.customer_a, months[0], "300")])
    world.customer_a.refresh_from_db()
    assert world.customer_a.annual_consumption_kwh == Decimal("2400")  # (300 + 100) x 6


def test_a_pinned_or_closed_customer_gets_its_annual_figure_too(world, landed):
    from customers.models import Status, Tier

    pinned = CustomerFactory(
        station=world.station_a, manager=world.manager_a.user, tier=Tier.VIP, tier_pinned=True
    )
    closed = CustomerFactory(station=world.station_a, manager=world.manager_a.user, status=Status.SUSPENDED)
    landed([_row(c, m, "100") for c in (pinned, closed) for m in _months_back(6)])
    pinned.refresh_from_db()
    closed.refresh_from_db()
    assert (pinned.annual_consumption_kwh, pinned.tier) == (Decimal("1200"), Tier.VIP)
    assert closed.annual_consumption_kwh == Decimal("1200")


def test_the_import_itself_leaves_the_annual_figure_to_the_run_it_queues(
    world, api, django_capture_on_commit_callbacks
):
    from customers.models import ClassificationRun

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        api(world.integration).post(URL, [_row(world.customer_a, _months_back(1)[0], "100")], format="json")
    world.customer_a.refresh_from_db()
    assert world.customer_a.annual_consumption_kwh == Decimal("0")  # not yet: the run writes it
    assert len(callbacks) == 1  # consumption_landed
    callbacks[0]()
    run = ClassificationRun.objects.get()
    assert run.trigger == ClassificationRun.Trigger.CONSUMPTION


def test_a_refused_request_leaves_the_annual_figure_alone(world, api):
    other = CustomerFactory(station=world.station_a, manager=world.manager_a.user)
    rows = [_row(other, _months_back(1)[0], "100"), _row(world.customer_a, kwh="-1")]
    api(world.integration).post(URL, rows, format="json")
    other.refresh_from_db()
    assert other.annual_consumption_kwh == Decimal("0")
