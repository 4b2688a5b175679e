"""The visit report sent from a phone that was offline (api.md, "offline visits"): `client_id`
makes a second send answer the first report, `checkin` is kept whole, a task cancelled meanwhile
refuses with its reason, and `visit-reports/{id}/photos/` stores JPEG and PNG only, six at most,
each seen only by those who may see the report."""

import datetime as dt
import io
import uuid

import pytest
from django.utils import timezone
from PIL import Image

from tests.factories import VisitTaskFactory
from visits.models import TaskStatus, VisitPhoto, VisitReport

TODAY = timezone.localdate()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def task_a(world):
    return VisitTaskFactory(customer=world.customer_a, period=TODAY.replace(day=1), due_date=TODAY)


@pytest.fixture
def task_b(world):
    return VisitTaskFactory(customer=world.customer_b, period=TODAY.replace(day=1), due_date=TODAY)


def _report(**changes):
    payload = {
        "visited_on": f"{TODAY:%Y-%m-%d}",
        "channel": "on_site",
        "business_trend": "stable",
        "satisfaction": 4,
        "needs": "变压器需检修",
    }
    payload.update(changes)
    return payload


def picture(kind="JPEG", size=(64, 48)) -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(data, kind)
    data.seek(0)
    data.name = "meter.jpg" if kind == "JPEG" else "site.png"
    return data


def _report_of(api, user, task, **changes):
    response = api(user).post(f"/api/v1/visit-tasks/{task.pk}/report/", _report(**changes), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


# ---------------------------------------------------------------- client_id
def test_the_same_client_id_twice_answers_the_first_report_and_makes_one(world, api, task_a):
    # given a report sent with an id made on the phone
    client_id = str(uuid.uuid4())
    first = _report_of(api, world.manager_a.user, task_a, client_id=client_id)

    # when the phone sends it again (the first answer was lost)
    again = api(world.manager_a.user).post(
        f"/api/v1/visit-tasks/{task_a.pk}/report/", _report(client_id=client_id), format="json"
    )

    # then it is answered 200 with the same report, and there is still one
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["client_id"] == client_id
    assert VisitReport.objects.filter(task=task_a).count() == 1


def test_a_client_id_used_for_another_visit_is_refused_on_the_field(world, api, task_a):
    client_id = str(uuid.uuid4())
    _report_of(api, world.manager_a.user, task_a, client_id=client_id)
    other = VisitTaskFactory(
        customer=world.customer_a, period=TODAY.replace(day=1), due_date=TODAY, kind="care"
    )

    response = api(world.manager_a.user).post(
        f"/api/v1/visit-tasks/{other.pk}/report/", _report(client_id=client_id), format="json"
    )

    assert response.status_code == 400
    assert "client_id" in response.json()
    assert not VisitReport.objects.filter(task=other).exists()


def test_a_bad_client_id_is_refused_in_chinese(world, api, task_a):
    response = api(world.manager_a.user).post(
        f"/api/v1/visit-tasks/{task_a.pk}/report/", _report(client_id="not-a-uuid"), format="json"
    )
    assert response.status_code == 400
    assert "UUID" in response.json()["client_id"][0] or "有效" in response.json()["client_id"][0]


def test_a_report_for_a_task_cancelled_meanwhile_is_refused_with_the_reason(world, api, task_a):
    # given the task was cancelled on the server while the manager was offline
    task_a.status, task_a.cancel_reason = TaskStatus.CANCELLED, "客户已销户"
    task_a.save()

    response = api(world.manager_a.user).post(
        f"/api/v1/visit-tasks/{task_a.pk}/report/", _report(client_id=str(uuid.uuid4())), format="json"
    )

    assert response.status_code == 409
    assert "客户已销户" in response.json()["detail"]
    assert not VisitReport.objects.exists()


def test_a_report_for_a_task_handed_to_another_manager_answers_404(world, api, task_a):
    task_a.manager = world.manager_b.user
    task_a.save()
    response = api(world.manager_a.user).post(
        f"/api/v1/visit-tasks/{task_a.pk}/report/", _report(client_id=str(uuid.uuid4())), format="json"
    )
    assert response.status_code == 404


# ---------------------------------------------------------------- checkin
def test_checkin_is_kept_and_read_back(world, api, task_a):
    at = (timezone.now() - dt.timedelta(minutes=5)).isoformat()
    made = _report_of(
        api,
        world.manager_a.user,
        task_a,
        checkin={"lat": 30.123456, "lon": 114.654321, "accuracy_m": 18.4, "at": at},
    )
    report = VisitReport.objects.get(pk=made["id"])
    assert (float(report.checkin_lat), float(report.checkin_lon), report.checkin_accuracy_m) == (
        30.123456,
        114.654321,
        18,
    )
    read = api(world.manager_a.user).get(f"/api/v1/visit-tasks/{task_a.pk}/report/").json()
    assert read["checkin"]["lat"] == 30.123456
    assert read["checkin"]["accuracy_m"] == 18


@pytest.mark.parametrize(
    ("checkin", "field"),
    [
        ({"lat": 91, "lon": 114, "accuracy_m": 5, "at": "2026-01-01T08:00:00+08:00"}, "lat"),
        ({"lat": 30, "lon": 114, "accuracy_m": -1, "at": "2026-01-01T08:00:00+08:00"}, "accuracy_m"),
        ({"lat": 30, "lon": 114, "accuracy_m": 5}, "at"),
    ],
)
def test_a_bad_checkin_is_refused_on_its_field_and_nothing_is_written(world, api, task_a, checkin, field):
    response = api(world.manager_a.user).post(
        f"/api/v1/visit-tasks/{task_a.pk}/report/", _report(checkin=checkin), format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["checkin"]
    assert not VisitReport.objects.exists()
    task_a.refresh_from_db()
    assert task_a.status == TaskStatus.PLANNED


def test_a_checkin_in_the_future_is_refused(world, api, task_a):
    at = (timezone.now() + dt.timedelta(hours=2)).isoformat()
    response = api(world.manager_a.user).post(
        f"/api/v1/visit-tasks/{task_a.pk}/report/",
        _report(checkin={"lat": 30, "lon": 114, "accuracy_m": 5, "at": at}),
        format="json",
    )
    assert response.status_code == 400
    assert "checkin" in response.json()


# ---------------------------------------------------------------- photos
def _upload(api, user, report_id, data, **extra):
    return api(user).post(
        f"/api/v1/visit-reports/{report_id}/photos/", {"file": data, **extra}, format="multipart"
    )


def test_a_jpeg_is_stored_listed_and_served_to_its_manager(world, api, task_a, media):
    report = _report_of(api, world.manager_a.user, task_a)

    response = _upload(api, world.manager_a.user, report["id"], picture())

    assert response.status_code == 201, response.json()
    photo = VisitPhoto.objects.get()
    assert (photo.content_type, photo.width, photo.height) == ("image/jpeg", 64, 48)
    assert (media / photo.file.name).exists()
    listed = api(world.manager_a.user).get(f"/api/v1/visit-reports/{report['id']}/photos/").json()
    assert [p["id"] for p in listed] == [photo.pk]
    served = api(world.manager_a.user).get(listed[0]["url"])
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert b"".join(served.streaming_content)[:2] == b"\xff\xd8"
    assert api(world.manager_a.user).get(f"/api/v1/visit-tasks/{task_a.pk}/report/").json()["photos"][0][
        "id"
    ] == (photo.pk)


def test_the_same_photo_client_id_twice_stores_one(world, api, task_a):
    report = _report_of(api, world.manager_a.user, task_a)
    client_id = str(uuid.uuid4())
    first = _upload(api, world.manager_a.user, report["id"], picture(), client_id=client_id)
    again = _upload(api, world.manager_a.user, report["id"], picture(), client_id=client_id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert VisitPhoto.objects.count() == 1


def test_a_png_is_stored_as_png(world, api, task_a):
    report = _report_of(api, world.manager_a.user, task_a)
    response = _upload(api, world.manager_a.user, report["id"], picture("PNG"))
    assert response.status_code == 201
    assert response.json()["content_type"] == "image/png"


def test_a_file_that_is_not_a_picture_is_refused_on_the_file_field(world, api, task_a):
    report = _report_of(api, world.manager_a.user, task_a)
    fake = io.BytesIO(b"%PDF-1.4 not a picture")
    fake.name = "meter.jpg"
    response = _upload(api, world.manager_a.user, report["id"], fake)
    assert response.status_code == 400
    assert response.json()["file"] == ["文件不是 JPEG 或 PNG 图片。"]
    assert not VisitPhoto.objects.exists()


def test_a_gif_is_refused(world, api, task_a):
    report = _report_of(api, world.manager_a.user, task_a)
    response = _upload(api, world.manager_a.user, report["id"], picture("GIF"))
    assert response.status_code == 400
    assert "file" in response.json()


def test_a_seventh_photo_is_refused(world, api, task_a):
    report = _report_of(api, world.manager_a.user, task_a)
    for _n in range(6):
        assert _upload(api, world.manager_a.user, report["id"], picture()).status_code == 201
    response = _upload(api, world.manager_a.user, report["id"], picture())
    assert response.status_code == 400
    assert response.json()["file"] == ["一份报告最多 6 张照片。"]
    assert VisitPhoto.objects.count() == 6


def test_a_photo_over_5_mb_is_refused(world, api, task_a, settings):
    report = _report_of(api, world.manager_a.user, task_a)
    big = io.BytesIO(b"\xff\xd8" + b"0" * (5 * 1024 * 1024 + 1))
    big.name = "big.jpg"
    response = _upload(api, world.manager_a.user, report["id"], big)
    assert response.status_code == 400
    assert "5 MB" in response.json()["file"][0]


def test_another_managers_report_photos_answer_404(world, api, task_a):
    report = _report_of(api, world.manager_a.user, task_a)
    photo = _upload(api, world.manager_a.user, report["id"], picture()).json()
    other = api(world.manager_b.user)
    assert other.get(f"/api/v1/visit-reports/{report['id']}/photos/").status_code == 404
    assert other.get(photo["url"]).status_code == 404
    assert _upload(api, world.manager_b.user, report["id"], picture()).status_code == 404
    assert other.delete(f"/api/v1/visit-reports/{report['id']}/photos/{photo['id']}/").status_code == 404
    assert VisitPhoto.objects.count() == 1


def test_the_supervisor_sees_the_photo_but_cannot_add_one(world, api, task_a):
    report = _report_of(api, world.manager_a.user, task_a)
    photo = _upload(api, world.manager_a.user, report["id"], picture()).json()
    assert api(world.supervisor).get(photo["url"]).status_code == 200
    assert _upload(api, world.supervisor, report["id"], picture()).status_code == 403


def test_a_photo_is_deleted_with_its_file(world, api, task_a, media, django_capture_on_commit_callbacks):
    report = _report_of(api, world.manager_a.user, task_a)
    photo = _upload(api, world.manager_a.user, report["id"], picture()).json()
    name = VisitPhoto.objects.get().file.name
    with django_capture_on_commit_callbacks(execute=True):
        response = api(world.manager_a.user).delete(
            f"/api/v1/visit-reports/{report['id']}/photos/{photo['id']}/"
        )
    assert response.status_code == 204
    assert not VisitPhoto.objects.exists()
    assert not (media / name).exists()


@pytest.mark.parametrize("count", [1, 6])
def test_the_photo_list_takes_five_queries_whatever_the_number_of_photos(
    world, api, task_a, django_assert_num_queries, count
):
    report = _report_of(api, world.manager_a.user, task_a)
    for _n in range(count):
        _upload(api, world.manager_a.user, report["id"], picture())
    client = api(world.manager_a.user)
    # the token, its user, the report in scope, its follow-ups and its photos
    with django_assert_num_queries(5):
        assert len(client.get(f"/api/v1/visit-reports/{report['id']}/photos/").json()) == count
