"""work-calendar/ over the API, the work calendar page (service:calendar) and the administrators'
home warning: who may read and write, bad input, a year loaded from a file, and fixed query counts."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from service import calendar as work_calendar
from service.models import CalendarDay, CalendarYear, DayKind

DAYS = "/api/v1/work-calendar/"
YEARS = "/api/v1/work-calendar/years/"
PAGE = reverse("service:calendar")
GOOD_2027 = "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-06,makeup_workday,春节\n"


@pytest.fixture
def cal(world):
    """The world, with 2026 loaded from the package and 2027 not loaded."""
    work_calendar.calendar_seed_from_package(years=[2026])
    CalendarYear.objects.filter(year=2027).delete()
    CalendarDay.objects.filter(date__year=2027).delete()
    return world


def upload(text: str, name: str = "2027.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


# ---------------------------------------------------------------- reading
def test_the_days_of_a_year_are_listed_by_date(cal, api):
    response = api(cal.manager_a.user).get(DAYS, {"year": 2026})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert response.json()["count"] == len(work_calendar.package_days({2026}))
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)
    assert {"date": "2026-10-10", "kind": "makeup_workday", "name": "国庆节"}.items() <= next(
        r for r in rows if r["date"] == "2026-10-10"
    ).items()


@pytest.mark.parametrize("year", ["20x6", "1999", "2101", "-1"])
def test_a_bad_year_answers_400_with_a_message(cal, api, year):
    response = api(cal.admin).get(DAYS, {"year": year})
    assert response.status_code == 400
    assert response.json() == {"year": ["请输入2000至2100之间的年份。"]}


@pytest.mark.parametrize("who", ["manager", "supervisor", "staff", "integration", "admin"])
def test_every_signed_in_role_reads_the_calendar_and_its_years(cal, api, who):
    user = {
        "manager": cal.manager_a.user,
        "supervisor": cal.supervisor,
        "staff": cal.staff,
        "integration": cal.integration,
        "admin": cal.admin,
    }[who]
    assert api(user).get(DAYS, {"year": 2026}).status_code == 200
    assert api(user).get(YEARS).status_code == 200


def test_anonymous_visitors_read_nothing(cal, api):
    assert api().get(DAYS).status_code == 401
    assert api().get(YEARS).status_code == 401


def test_one_day_is_read_by_its_date_and_an_unknown_date_answers_404(cal, api):
    client = api(cal.manager_a.user)
    assert client.get(f"{DAYS}2026-10-10/").json()["kind"] == "makeup_workday"
    assert client.get(f"{DAYS}2026-10-09/").status_code == 404
    assert client.get(f"{DAYS}not-a-date/").status_code == 404


def test_the_years_say_whether_next_year_is_loaded(cal, api):
    body = api(cal.admin).get(YEARS).json()
    next_year = timezone.localdate().year + 1
    assert body["next_year"] == next_year
    assert body["next_year_loaded"] is CalendarYear.objects.filter(year=next_year).exists()
    row = next(r for r in body["years"] if r["year"] == 2026)
    assert row["source"] == "package"
    assert row["loaded"] is True
    assert row["days"] == len(work_calendar.package_days({2026}))


# ---------------------------------------------------------------- writing a day
def test_an_administrator_enters_a_make_up_saturday(cal, api):
    response = api(cal.admin).post(
        DAYS, {"date": "2027-10-09", "kind": "makeup_workday", "name": "国庆节"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["date"] == "2027-10-09"
    assert CalendarDay.objects.get(date=dt.date(2027, 10, 9)).kind == DayKind.MAKEUP_WORKDAY


@pytest.mark.parametrize("who", ["manager", "supervisor", "staff", "integration"])
def test_no_one_but_administrators_may_enter_or_delete_a_day(cal, api, who):
    user = {
        "manager": cal.manager_a.user,
        "supervisor": cal.supervisor,
        "staff": cal.staff,
        "integration": cal.integration,
    }[who]
    client = api(user)
    entered = client.post(DAYS, {"date": "2027-10-09", "kind": "makeup_workday"}, format="json")
    deleted = client.delete(f"{DAYS}2026-10-10/")
    loaded = client.post(YEARS, {"year": 2027, "file": upload(GOOD_2027)}, format="multipart")
    assert (entered.status_code, deleted.status_code, loaded.status_code) == (403, 403, 403)
    assert entered.json() == {"detail": "只有管理员可以修改工作日历。"}
    assert CalendarDay.objects.filter(date=dt.date(2026, 10, 10)).exists()
    assert not CalendarDay.objects.filter(date__year=2027).exists()


def test_a_make_up_day_on_a_weekday_answers_400_and_writes_nothing(cal, api):
    response = api(cal.admin).post(DAYS, {"date": "2027-10-08", "kind": "makeup_workday"}, format="json")
    assert response.status_code == 400
    assert "本来就是工作日" in response.json()["kind"][0]
    assert not CalendarDay.objects.filter(date=dt.date(2027, 10, 8)).exists()


def test_a_weekend_holiday_answers_400(cal, api):
    response = api(cal.admin).post(DAYS, {"date": "2027-10-02", "kind": "holiday"}, format="json")
    assert response.status_code == 400
    assert "本来就休息" in response.json()["kind"][0]


def test_a_date_entered_already_answers_400_on_date(cal, api):
    response = api(cal.admin).post(DAYS, {"date": "2026-10-01", "kind": "holiday"}, format="json")
    assert response.status_code == 400
    assert "已在日历中" in response.json()["date"][0]


def test_an_unknown_kind_answers_400(cal, api):
    response = api(cal.admin).post(DAYS, {"date": "2027-10-08", "kind": "vacation"}, format="json")
    assert response.status_code == 400
    assert "kind" in response.json()


def test_an_administrator_deletes_a_day_by_its_date(cal, api):
    response = api(cal.admin).delete(f"{DAYS}2026-10-10/")
    assert response.status_code == 204
    assert not CalendarDay.objects.filter(date=dt.date(2026, 10, 10)).exists()


# ---------------------------------------------------------------- loading a year
def test_an_administrator_loads_a_year_from_a_file(cal, api):
    response = api(cal.admin).post(YEARS, {"year": 2027, "file": upload(GOOD_2027)}, format="multipart")
    assert response.status_code == 201
    body = response.json()
    assert (body["year"], body["source"], body["days"], body["skipped"]) == (2027, "file", 2, 0)
    assert body["loaded_by"] == cal.admin.display_name
    assert api(cal.admin).get(YEARS).json()["years"][-1]["loaded"] is True


def test_a_file_with_a_bad_line_answers_400_naming_it_and_writes_nothing(cal, api):
    text = GOOD_2027 + "2027-01-04,makeup_workday,错\n"
    response = api(cal.admin).post(YEARS, {"year": 2027, "file": upload(text)}, format="multipart")
    assert response.status_code == 400
    assert response.json()["file"][0].startswith("第4行：")
    assert not CalendarDay.objects.filter(date__year=2027).exists()
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_loading_needs_a_file_or_the_days_declared_complete(cal, api):
    response = api(cal.admin).post(YEARS, {"year": 2027}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()


def test_days_entered_by_hand_are_declared_complete_over_the_api(cal, api):
    client = api(cal.admin)
    client.post(DAYS, {"date": "2027-01-01", "kind": "holiday", "name": "元旦"}, format="json")
    response = client.post(YEARS, {"year": 2027, "entered_by_hand": "true"}, format="multipart")
    assert response.status_code == 201
    assert (response.json()["source"], response.json()["days"]) == ("manual", 1)


def test_the_schema_documents_the_calendar_and_the_upload(cal, api):
    paths = api(cal.admin).get("/api/v1/schema/?format=json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/work-calendar/"])
    assert "delete" in paths["/api/v1/work-calendar/{date}/"]
    upload_body = paths["/api/v1/work-calendar/years/"]["post"]["requestBody"]["content"]
    assert set(upload_body) == {"multipart/form-data"}


# ---------------------------------------------------------------- query counts
def _queries(client, path, data=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path, data or {}).status_code == 200
    return len(queries)


def test_the_calendar_reads_take_the_same_queries_whatever_the_days(cal, api):
    client = api(cal.manager_a.user)
    small = [_queries(client, DAYS), _queries(client, YEARS), _queries(client, f"{DAYS}2026-10-10/")]
    work_calendar.calendar_seed_from_package()  # every year of the package: some 560 days
    large = [_queries(client, DAYS), _queries(client, YEARS), _queries(client, f"{DAYS}2026-10-10/")]
    assert small == large
    assert max(large) <= 10


# ---------------------------------------------------------------- the page
def test_the_page_shows_twelve_months_with_the_holidays_coloured_and_named(cal, client):
    client.force_login(cal.admin)
    html = client.get(PAGE, {"year": 2026}).content.decode()
    assert html.count('class="month card"') == 12
    assert '<td class="makeup_workday" title="国庆节">10</td>' in html
    assert '<td class="holiday" title="国庆节">1</td>' in html
    assert "10月1日–10月7日" in html
    assert "国庆节" in html
    assert "图例" in html


def test_administrators_get_the_forms_and_managers_only_the_calendar(cal, client):
    client.force_login(cal.admin)
    admin_html = client.get(PAGE).content.decode()
    client.force_login(cal.manager_a.user)
    manager_html = client.get(PAGE).content.decode()
    for form in ('value="add"', 'value="upload"', 'value="delete"'):
        assert form in admin_html
        assert form not in manager_html


def test_a_year_not_loaded_is_said_on_the_page(cal, client):
    client.force_login(cal.manager_a.user)
    html = client.get(PAGE, {"year": 2027}).content.decode()
    assert "2027年的节假日尚未载入" in html


@pytest.mark.parametrize("who", ["manager", "staff"])
def test_managers_and_staff_may_not_post_on_the_page(cal, client, who):
    client.force_login(cal.manager_a.user if who == "manager" else cal.staff)
    for data in (
        {"action": "add", "date": "2027-10-09", "kind": "makeup_workday"},
        {"action": "delete", "date": "2026-10-10"},
        {"action": "upload", "year": "2027", "file": upload(GOOD_2027)},
    ):
        assert client.post(PAGE, data).status_code == 403
    assert CalendarDay.objects.filter(date=dt.date(2026, 10, 10)).exists()
    assert not CalendarDay.objects.filter(date__year=2027).exists()


def test_an_administrator_enters_and_deletes_a_day_on_the_page(cal, client):
    client.force_login(cal.admin)
    added = client.post(
        PAGE + "?year=2027",
        {"action": "add", "date": "2027-10-09", "kind": "makeup_workday", "name": "国庆节"},
    )
    assert added.status_code == 302
    assert added.url == f"{PAGE}?year=2027"
    assert CalendarDay.objects.filter(date=dt.date(2027, 10, 9)).exists()
    deleted = client.post(PAGE, {"action": "delete", "date": "2027-10-09"})
    assert deleted.status_code == 302
    assert not CalendarDay.objects.filter(date=dt.date(2027, 10, 9)).exists()


def test_a_day_that_changes_nothing_is_refused_on_the_form(cal, client):
    client.force_login(cal.admin)
    response = client.post(PAGE, {"action": "add", "date": "2027-10-08", "kind": "makeup_workday"})
    assert response.status_code == 400
    assert "本来就是工作日" in response.content.decode()
    assert not CalendarDay.objects.filter(date=dt.date(2027, 10, 8)).exists()


def test_an_administrator_loads_a_file_on_the_page(cal, client):
    client.force_login(cal.admin)
    response = client.post(PAGE, {"action": "upload", "year": "2027", "file": upload(GOOD_2027)})
    assert response.status_code == 302
    assert CalendarYear.objects.get(year=2027).source == CalendarYear.Source.FILE


def test_a_bad_file_on_the_page_names_the_line_and_writes_nothing(cal, client):
    client.force_login(cal.admin)
    response = client.post(
        PAGE, {"action": "upload", "year": "2027", "file": upload(GOOD_2027 + "2027-13-01,holiday,x\n")}
    )
    assert response.status_code == 400
    assert "第4行" in response.content.decode()
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_the_export_of_a_year_loads_back_as_the_same_days(cal, client):
    # given 2026 exported from the page
    client.force_login(cal.admin)
    exported = client.get(PAGE, {"year": 2026, "export": "csv"})
    assert exported["Content-Type"].startswith("text/csv")
    before = list(CalendarDay.objects.filter(date__year=2026).values_list("date", "kind", "name"))
    # when the file is loaded back
    work_calendar.calendar_file_load(year=2026, data=exported.content, by=cal.admin)
    # then the year holds the same days
    assert list(CalendarDay.objects.filter(date__year=2026).values_list("date", "kind", "name")) == before


def test_the_example_file_in_docs_loads_as_2026_and_not_as_2027(db):
    data = open("docs/work-calendar-example.csv", "rb").read()  # noqa: SIM115, PTH123
    days, _skipped = work_calendar.read_calendar_file(data, year=2026)
    assert [(d.date, d.kind, d.name) for d in days] == [
        (d.date, d.kind, d.name) for d in work_calendar.package_days({2026})
    ]
    with pytest.raises(work_calendar.ValidationError):
        work_calendar.read_calendar_file(data, year=2027)


def test_the_page_takes_the_same_queries_whatever_the_days(cal, client):
    client.force_login(cal.admin)
    small = _queries(client, PAGE, {"year": 2026})
    work_calendar.calendar_seed_from_package()
    CalendarDay.objects.bulk_create(
        [
            CalendarDay(date=dt.date(2026, 3, 2) + dt.timedelta(days=7 * i), kind=DayKind.HOLIDAY)
            for i in range(30)
        ],
        ignore_conflicts=True,  # some of those Mondays are holidays already
    )
    assert _queries(client, PAGE, {"year": 2026}) == small <= 10


# ---------------------------------------------------------------- the administrators' home
@pytest.fixture
def on(monkeypatch):
    def set_today(day: dt.date) -> None:
        monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: day)

    return set_today


def test_administrators_are_warned_on_1_december_that_next_year_is_not_loaded(cal, client, on):
    on(dt.date(2026, 12, 1))
    client.force_login(cal.admin)
    html = client.get(reverse("home")).content.decode()
    assert "2027年节假日安排尚未载入工作日历" in html
    assert f'href="{PAGE}?year=2027"' in html
    assert "国务院办公厅" in html


def test_no_warning_on_30_november(cal, client, on):
    on(dt.date(2026, 11, 30))
    client.force_login(cal.admin)
    assert "尚未载入工作日历" not in client.get(reverse("home")).content.decode()


def test_no_warning_when_next_year_is_loaded(cal, client, on):
    on(dt.date(2026, 12, 1))
    work_calendar.calendar_file_load(year=2027, data=GOOD_2027.encode(), by=cal.admin)
    client.force_login(cal.admin)
    assert "尚未载入工作日历" not in client.get(reverse("home")).content.decode()


@pytest.mark.parametrize("who", ["manager", "supervisor", "staff"])
def test_no_warning_for_those_who_do_not_load_the_calendar(cal, client, on, who):
    on(dt.date(2026, 12, 1))
    client.force_login({"manager": cal.manager_a.user, "supervisor": cal.supervisor, "staff": cal.staff}[who])
    assert "尚未载入工作日历" not in client.get(reverse("home")).content.decode()


def test_the_page_and_the_warning_in_chinese_have_no_english_ui_words(cal, client, on):
    from tests.crm.test_translations import english_words_on

    on(dt.date(2026, 12, 1))
    client.force_login(cal.admin)
    assert english_words_on(client.get(PAGE, {"year": 2027})) == []
    assert english_words_on(client.get(reverse("home"))) == []


@pytest.mark.browser
def test_an_administrator_reads_the_year_on_a_phone_without_scrolling_sideways(
    transactional_db, world, live_server, monkeypatch
):
    from tests.e2e.browser import ARTIFACTS, log_in, phone_page

    # given 2026 seeded (a transactional test starts from a flushed database)
    work_calendar.calendar_seed_from_package(years=[2026])
    with phone_page(monkeypatch) as page:
        # when the administrator opens 2026 on the work calendar page on a 390 px phone
        log_in(page, live_server.url, "admin")
        page.goto(f"{live_server.url}{PAGE}?year=2026")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "work-calendar-phone.png"), full_page=True)
        page.screenshot(path=str(ARTIFACTS / "work-calendar-phone-top.png"))
        # then twelve months show, two side by side, and nothing overflows the screen
        months = page.locator("section.month")
        assert months.count() == 12
        first, second = months.nth(0).bounding_box(), months.nth(1).bounding_box()
        assert first["y"] == second["y"]
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.locator("td.makeup_workday[title='国庆节']").count() == 2  # 20 September and 10 October


def test_an_administrator_declares_the_days_entered_complete_on_the_page(cal, client):
    client.force_login(cal.admin)
    client.post(PAGE, {"action": "add", "date": "2027-01-01", "kind": "holiday", "name": "元旦"})
    response = client.post(PAGE, {"action": "entered", "year": "2027"})
    assert response.status_code == 302
    assert CalendarYear.objects.get(year=2027).source == CalendarYear.Source.MANUAL


def test_the_admin_refuses_a_day_that_changes_nothing_and_enters_a_good_one(cal, client):
    client.force_login(cal.admin)
    url = reverse("admin:service_calendarday_add")
    refused = client.post(url, {"date": "2027-10-02", "kind": "holiday", "name": "国庆节"})
    assert refused.status_code == 200
    assert "本来就休息" in refused.content.decode()
    entered = client.post(url, {"date": "2027-10-09", "kind": "makeup_workday", "name": "国庆节"})
    assert entered.status_code == 302
    assert CalendarDay.objects.get(date=dt.date(2027, 10, 9)).kind == DayKind.MAKEUP_WORKDAY
