"""The grid the notice tests publish on, and a real SMS gateway process."""

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.utils import timezone

from customers.models import Importance, Tier
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    FeederDistrictFactory,
    FeederFactory,
    TransformerDistrictFactory,
)

GATEWAY_KEY = "test-gateway-key"


@pytest.fixture
def grid(world):
    """A feeder of station A with one transformer district: customer A (key account, manager A)
    hangs on it, with a level-1 important customer, two ordinary customers with good mobiles, one
    with a landline and one with no contact; customer B (station B) is elsewhere."""
    feeder = FeederFactory(station=world.station_a, name="10kV城关一线")
    link = FeederDistrictFactory(feeder=feeder)
    district = link.transformer_district
    world.customer_a.transformer_district = district
    world.customer_a.save()
    ContactFactory(customer=world.customer_a, is_primary=True, phone="13900000001")
    manager = world.manager_a.user
    hospital = CustomerFactory(
        station=world.station_a,
        transformer_district=district,
        importance=Importance.LEVEL_1,
        manager=manager,
        name="县人民医院",
    )
    homes = [
        CustomerFactory(station=world.station_a, transformer_district=district, manager=manager)
        for _ in range(2)
    ]
    ContactFactory(customer=homes[0], is_primary=True, phone="138 0000 0002")
    ContactFactory(customer=homes[1], is_primary=True, phone="+8613800000003")
    landline = CustomerFactory(station=world.station_a, transformer_district=district, manager=manager)
    ContactFactory(customer=landline, is_primary=True, phone="0571-8888888")
    silent = CustomerFactory(station=world.station_a, transformer_district=district, manager=manager)
    elsewhere = TransformerDistrictFactory(station=world.station_a)
    CustomerFactory(
        station=world.station_a, transformer_district=elsewhere, manager=manager, tier=Tier.COMMUNITY
    )
    return SimpleNamespace(
        world=world,
        feeder=feeder,
        district=district,
        hospital=hospital,
        homes=homes,
        landline=landline,
        silent=silent,
    )


def ahead(days: float = 0, hours: float = 0) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days, hours=hours)


def notice_body(grid, *, kind="planned", days=10, hours=8, **extra) -> dict:
    start = ahead(days=days)
    return {
        "kind": kind,
        "starts_at": start.isoformat(),
        "ends_at": (start + dt.timedelta(hours=hours)).isoformat(),
        "reason": "线路检修",
        "feeders": [grid.feeder.pk],
        **extra,
    }


class Gateway:
    """A running tests/notices/gateway.py: what it received and what it delivered."""

    def __init__(self, state: Path, process: subprocess.Popen, port: int) -> None:
        self.state, self.process, self.url = state, process, f"http://127.0.0.1:{port}/send"

    def _read(self, name: str) -> list[dict]:
        path = self.state / name
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    @property
    def received(self) -> list[dict]:
        return self._read("requests.jsonl")

    @property
    def delivered(self) -> list[dict]:
        return self._read("delivered.jsonl")


@pytest.fixture
def gateway(tmp_path, settings):
    """gateway(fail_first=0, mode="error"): starts the gateway process and points the HTTP backend
    at it; stopped at the end of the test."""
    started = []

    def start(fail_first: int = 0, mode: str = "error") -> Gateway:
        state = tmp_path / f"gateway{len(started)}"
        state.mkdir()
        script = Path(__file__).with_name("gateway.py")
        process = subprocess.Popen(  # noqa: S603 - our own script
            [sys.executable, str(script), GATEWAY_KEY, str(state), str(fail_first), mode]
        )
        started.append(process)
        deadline = time.monotonic() + 15
        while not (state / "port").exists():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the test gateway did not start")
            time.sleep(0.02)  # polling for the process to listen, with a deadline
        running = Gateway(state, process, int((state / "port").read_text()))
        settings.SMS_BACKEND = "crm.common.sms.HttpGatewayBackend"
        settings.SMS_GATEWAY_URL = running.url
        settings.SMS_GATEWAY_KEY = GATEWAY_KEY
        settings.SMS_GATEWAY_TIMEOUT = 0.5
        settings.SMS_RATE_PER_SECOND = 1000
        return running

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def publish(api, django_capture_on_commit_callbacks):
    """publish(user, notice_id, body): POST publish/ with the after-commit sending run, as a
    committed request would."""

    def post(user, notice_id, body=None):
        with django_capture_on_commit_callbacks(execute=True):
            return api(user).post(f"/api/v1/outage-notices/{notice_id}/publish/", body or {}, format="json")

    return post
