"""Visit photos through an S3-compatible store: django-storages against moto's S3 server, started
by the test on a local port and spoken to over HTTP like MinIO or a cloud bucket in production."""

import socket

import boto3
import pytest
from django.core.files.storage import storages
from django.utils import timezone

from crm.settings.storage import default_storage
from tests.factories import VisitTaskFactory
from tests.visits.test_offline_api import _report_of, picture
from visits.models import VisitPhoto

BUCKET = "crm-visit-photos"


def test_without_a_bucket_the_storage_is_the_local_folder():
    assert default_storage({}) == {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def test_a_bucket_in_the_environment_selects_s3_with_no_public_acl():
    entry = default_storage(
        {
            "DJANGO_STORAGE_S3_BUCKET": "photos",
            "DJANGO_STORAGE_S3_ENDPOINT": "https://oss.example.cn",
            "DJANGO_STORAGE_S3_REGION": "cn-north-1",
        }
    )
    assert entry["BACKEND"] == "storages.backends.s3.S3Storage"
    assert entry["OPTIONS"]["bucket_name"] == "photos"
    assert entry["OPTIONS"]["endpoint_url"] == "https://oss.example.cn"
    assert entry["OPTIONS"]["default_acl"] is None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def s3(settings, monkeypatch):
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")):
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": default_storage(
            {
                "DJANGO_STORAGE_S3_BUCKET": BUCKET,
                "DJANGO_STORAGE_S3_ENDPOINT": endpoint,
                "DJANGO_STORAGE_S3_REGION": "us-east-1",
                "DJANGO_STORAGE_S3_ACCESS_KEY": "test",
                "DJANGO_STORAGE_S3_SECRET_KEY": "test",
            }
        ),
    }
    storages._storages = {}  # the storages handler caches backends by alias; the setting changed
    try:
        yield client
    finally:
        storages._storages = {}
        server.stop()


def test_a_photo_goes_to_the_bucket_and_comes_back_through_the_view(world, api, s3):
    # given a report of manager A, and photos kept in an S3 bucket
    today = timezone.localdate()
    task = VisitTaskFactory(customer=world.customer_a, period=today.replace(day=1), due_date=today)
    report = _report_of(api, world.manager_a.user, task)

    # when a photo is uploaded
    response = api(world.manager_a.user).post(
        f"/api/v1/visit-reports/{report['id']}/photos/", {"file": picture()}, format="multipart"
    )

    # then it is an object in the bucket, private, and the view streams it to the manager only
    assert response.status_code == 201, response.json()
    key = VisitPhoto.objects.get().file.name
    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert head["ContentLength"] == VisitPhoto.objects.get().size
    grants = s3.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
    assert not [g for g in grants if g["Grantee"].get("URI", "").endswith("AllUsers")]
    served = api(world.manager_a.user).get(response.json()["url"])
    assert served.status_code == 200
    assert b"".join(served.streaming_content)[:2] == b"\xff\xd8"
    assert api(world.manager_b.user).get(response.json()["url"]).status_code == 404
