"""A web process killed after its COMMIT, before the job that must follow is sent (issue 15,
scenario 2), with a real gunicorn serving the product on the PostgreSQL test database, a real
`celery worker` on Redis, and the runs' sweep.

The test posts a month of readings to consumption/bulk/. The write commits the readings and, in the
same transaction, the step that must follow (a PendingHook: queue a reclassification). The gunicorn
configuration makes that step stop before it runs (tests/crm/gunicorn_dies_after_commit.py), and the
test SIGKILLs gunicorn there: the client gets no answer. The readings must be there, the step
recorded; the sweep must run it, and the reclassification end as it would have."""

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from crm import jobs
from crm.common.models import ChainRun, PendingHook
from customers.models import ClassificationRun, ConsumptionRecord, Customer, Tier
from tests.crm.test_faults import (  # the harness's fixtures, used by name
    ROOT,
    broker,
    population,
    wait_for,
    workers,
)
from tests.crm.test_faults_broker import _free_port

__all__ = ["broker", "population", "workers"]  # the fixtures this module takes from the harness
pytestmark = [pytest.mark.worker, pytest.mark.postgres]


def _gunicorn(tmp_path: Path, marker: Path, port: int) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings.test_worker",
        "DATABASE_URL": "postgres://{USER}:{pw}@{HOST}:{port}/{NAME}".format(
            **db, pw=db["PASSWORD"] or "", port=db["PORT"] or 5432
        ),
        "FAULT_BIND": f"127.0.0.1:{port}",
        "FAULT_MARKER": str(marker),
    }
    log = (tmp_path / "gunicorn.log").open("w")
    return subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "gunicorn", "-c", "tests/crm/gunicorn_dies_after_commit.py", "crm.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: master and worker die together
    )


def test_a_web_process_killed_after_its_commit_loses_no_job(workers, population, world, tmp_path, settings):  # noqa: F811
    # Given gunicorn serving the API, and an integration client's month of readings: every
    # customer of the population consumes like a VIP in March
    marker = tmp_path / "committed"
    port = _free_port()
    web = _gunicorn(tmp_path, marker, port)
    wait_for(lambda: _answers(port), "gunicorn to answer")
    token, _ = Token.objects.get_or_create(user=world.integration)
    month = dt.date(2026, 3, 1)
    rows = [{"account_no": c.account_no, "period": "2026-03", "kwh": "1000000"} for c in population]
    # When the client posts them, and the web process is SIGKILLed after its COMMIT
    threading.Thread(target=_post, args=(port, token.key, rows), daemon=True).start()
    wait_for(marker.exists, "the write to commit")
    os.killpg(web.pid, signal.SIGKILL)
    web.wait(timeout=60)
    killed_at = time.monotonic()
    # Then the readings are there, no run was queued, and the step that must follow is recorded
    assert ConsumptionRecord.objects.filter(period=month).count() == len(population)
    assert not ClassificationRun.objects.exists()
    hook = PendingHook.objects.get()
    assert hook.target == "crm.jobs.consumption_landed"
    # When a worker runs and beat's sweep comes after the grace
    workers.start()
    settings.CRM_HOOK_GRACE_SECONDS = 0
    assert jobs.runs_sweep()["hooks"] == [hook.pk]
    # Then the reclassification runs and its chain ends, as if the process had lived
    wait_for(lambda: ChainRun.objects.filter(finished_at__isnull=False).exists(), "the chain to end")
    recovered = time.monotonic() - killed_at
    run = ClassificationRun.objects.get()
    assert run.trigger == ClassificationRun.Trigger.CONSUMPTION
    assert run.status == ClassificationRun.State.DONE
    assert not PendingHook.objects.exists()
    assert set(Customer.objects.filter(pk__in=[c.pk for c in population]).values_list("tier", flat=True)) == {
        Tier.VIP
    }
    print(f"\nweb killed after COMMIT: the reclassification that follows ended {recovered:.1f} s later")


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health/", timeout=2) as answer:  # noqa: S310
            return answer.status == 200
    except OSError:
        return False


def _post(port: int, token: str, rows: list[dict]) -> None:
    request = urllib.request.Request(  # noqa: S310 - the test's own local server
        f"http://127.0.0.1:{port}/api/v1/consumption/bulk/",
        data=json.dumps(rows).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    # the server is killed: the client gets no answer, as in the chaos run
    with contextlib.suppress(OSError):
        urllib.request.urlopen(request, timeout=120)  # noqa: S310
