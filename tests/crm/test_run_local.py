"""manage.py run_local: which processes it starts, what it prints, and how it stops them."""

import signal
import socket
import sys
import threading

import pytest

from crm.demo.logins import DEMO_LOGINS, DEMO_PASSWORD
from crm.demo.runner import Child, Supervisor, banner, local_processes

# A child that says it is ready, and on SIGTERM says goodbye and exits cleanly.
POLITE = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *a: (print('bye', flush=True), sys.exit(0)))\n"
    "print('ready', flush=True)\n"
    "time.sleep(120)\n"
)


def child(name: str, code: str) -> Child:
    return Child(name, [sys.executable, "-c", code])


class Lines:
    """Collects the supervisor's output and lets a test wait for a number of matching lines."""

    def __init__(self):
        self.lines: list[str] = []
        self._changed = threading.Condition()

    def write(self, line: str) -> None:
        with self._changed:
            self.lines.append(line)
            self._changed.notify_all()

    def wait_for(self, text: str, count: int = 1, timeout: float = 20) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: sum(text in x for x in self.lines) >= count, timeout)

    def __str__(self) -> str:
        return "\n".join(self.lines)


def test_local_processes_are_runserver_a_worker_and_beat_on_this_python():
    # given / when
    children = {c.name: c.argv for c in local_processes(host="127.0.0.1", port=8123)}
    # then
    assert set(children) == {"web", "worker", "beat"}
    assert all(argv[0] == sys.executable for argv in children.values())
    assert children["web"][2:] == ["runserver", "127.0.0.1:8123", "--noreload"]
    assert children["worker"][1:6] == ["-m", "celery", "-A", "crm", "worker"]
    assert "--pool=solo" in children["worker"]
    assert children["beat"][1:6] == ["-m", "celery", "-A", "crm", "beat"]


def test_banner_shows_the_address_the_api_docs_and_one_login_per_role_with_the_password():
    # given every demo user exists
    present = {username for _label, username in DEMO_LOGINS}
    # when
    text = banner(base_url="http://127.0.0.1:8123/", usernames_present=present)
    # then
    assert "http://127.0.0.1:8123/" in text
    assert "http://127.0.0.1:8123/api/v1/docs/" in text
    for _label, username in DEMO_LOGINS:
        assert username in text
    assert DEMO_PASSWORD in text


def test_banner_says_how_to_get_demo_users_when_there_are_none():
    # given no demo user / when
    text = banner(base_url="http://127.0.0.1:8123/", usernames_present=set())
    # then
    assert "seed_demo" in text
    assert DEMO_PASSWORD not in text


def test_when_a_child_dies_the_others_are_stopped_and_its_exit_code_returned():
    # given a long-running child and one that fails
    out = Lines()
    supervisor = Supervisor(
        [child("steady", POLITE), child("broken", "import sys; print('boom'); sys.exit(3)")], write=out.write
    )
    # when
    supervisor.start()
    code = supervisor.run()
    # then
    assert code == 3
    assert all(p.poll() is not None for p in supervisor.processes.values())
    assert "broken | boom" in str(out)
    assert any("broken" in line and "3" in line and line.startswith("run_local:") for line in out.lines)


def test_a_stop_request_is_forwarded_to_every_child_which_exits_cleanly():
    # given two children that are up
    out = Lines()
    supervisor = Supervisor([child("one", POLITE), child("two", POLITE)], write=out.write)
    supervisor.start()
    assert out.wait_for("ready", count=2)
    # when Ctrl-C arrives
    supervisor.request_stop(signal.SIGTERM)
    code = supervisor.run()
    # then
    assert code == 0
    assert [p.returncode for p in supervisor.processes.values()] == [0, 0]
    assert "one | bye" in str(out)
    assert "two | bye" in str(out)


@pytest.fixture
def listening_port():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def test_the_banner_callback_runs_once_the_web_address_answers(listening_port):
    # given a supervisor waiting for a port that is already open
    out = Lines()
    calls = []

    def ready():
        calls.append(True)
        supervisor.request_stop()

    supervisor = Supervisor(
        [child("web", POLITE)], write=out.write, on_ready=ready, ready_address=("127.0.0.1", listening_port)
    )
    # when
    supervisor.start()
    code = supervisor.run()
    # then
    assert calls == [True]
    assert code == 0


def test_a_child_killed_by_a_signal_is_reported_with_the_shells_128_plus_signal_code():
    # given a child that is killed
    out = Lines()
    killed = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    supervisor = Supervisor([child("steady", POLITE), child("killed", killed)], write=out.write)
    # when
    supervisor.start()
    code = supervisor.run()
    # then
    assert code == 128 + signal.SIGKILL
