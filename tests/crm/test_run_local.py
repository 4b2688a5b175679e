"""`make run`: honcho runs Procfile.local (web, worker, beat and the banner); which processes it starts,
what it prints, and how they are stopped together. honcho's part is tested through the honcho that
`make run` starts, on children of the test's own."""

import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from honcho.environ import parse_procfile

from crm.demo.logins import DEMO_LOGINS, DEMO_PASSWORD
from crm.demo.runner import banner, show_banner_when_ready
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
HONCHO = Path(sys.executable).with_name("honcho")

# A child that says it is ready, and on SIGTERM says goodbye and exits cleanly.
POLITE = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *a: (print('bye', flush=True), sys.exit(0)))\n"
    "print('ready', flush=True)\n"
    "time.sleep(120)\n"
)


class Lines:
    """Collects a process's output and lets a test wait for a number of matching lines."""

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


class Honcho:
    """honcho as `make run` starts it (`--env /dev/null ... start`), on a Procfile of the test's children
    written as Python code, each run by this interpreter."""

    def __init__(self, tmp_path: Path, children: dict[str, str]):
        for name, code in children.items():
            (tmp_path / f"{name}.py").write_text(code, encoding="utf-8")
        procfile = "".join(f"{name}: exec {sys.executable} {name}.py\n" for name in children)
        (tmp_path / "Procfile").write_text(procfile, encoding="utf-8")
        self.out = Lines()
        self.process = subprocess.Popen(  # noqa: S603 - this environment's honcho, fixed arguments
            [str(HONCHO), "--env", "/dev/null", "--procfile", "Procfile", "--no-colour", "start"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._pump = threading.Thread(target=self._read, daemon=True)
        self._pump.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.out.write(line.rstrip())

    def wait(self) -> int:
        code = self.process.wait(timeout=30)
        self._pump.join(timeout=5)
        return code

    def said(self, name: str, text: str) -> bool:
        """Whether the child printed `text` (honcho prefixes its lines with 'NAME.1 | ')."""
        return any(f"{name}.1 " in line and line.endswith(f"| {text}") for line in self.out.lines)

    def stopped(self, name: str) -> str:
        """honcho's line saying how the child stopped ('stopped (rc=N)')."""
        return next(line for line in self.out.lines if f"{name}.1 stopped" in line)


@pytest.fixture
def run_honcho(tmp_path):
    started = []

    def run(children: dict[str, str]) -> Honcho:
        started.append(Honcho(tmp_path, children))
        return started[-1]

    yield run
    for honcho in started:  # a failed test leaves nothing running
        if honcho.process.poll() is None:
            honcho.process.kill()
            honcho.process.wait()


def test_local_processes_are_runserver_a_worker_and_beat_on_this_python():
    # given the Procfile `make run` gives honcho
    procfile = parse_procfile((ROOT / "Procfile.local").read_text(encoding="utf-8")).processes
    # then: the virtual environment's python (make puts it first on PATH), each process itself
    assert set(procfile) == {"web", "worker", "beat", "banner"}
    assert all(command.startswith("exec python ") for command in procfile.values())
    assert "manage.py runserver" in procfile["web"]
    assert "${RUN_PORT:-8000}" in procfile["web"]
    assert procfile["web"].endswith("--noreload")
    assert "-m celery -A crm worker" in procfile["worker"]
    assert "--pool=solo" in procfile["worker"]
    assert "-m celery -A crm beat" in procfile["beat"]
    assert "-m crm.demo.runner" in procfile["banner"]
    assert "${RUN_PORT:-8000}" in procfile["banner"]


def test_make_run_starts_honcho_on_the_procfile_with_the_virtual_environment_first_on_path():
    # given / when: what `make run PORT=8123` would run, without running it
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", "PORT=8123"],  # noqa: S607 - make from PATH
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    # then
    lines = done.stdout.replace("\\\n", " ").splitlines()
    command = " ".join(next(line for line in lines if "honcho" in line).split())
    assert f'PATH="{ROOT}/.venv/bin:$PATH"' in command
    assert "RUN_PORT=8123" in command
    assert ".venv/bin/honcho --env /dev/null --procfile Procfile.local start" in command


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


def test_when_a_child_dies_the_others_are_stopped_and_its_exit_code_returned(run_honcho):
    # given a long-running child and one that fails
    honcho = run_honcho({"steady": POLITE, "broken": "import sys; print('boom'); sys.exit(3)"})
    # when
    code = honcho.wait()
    # then
    assert code == 3
    assert honcho.said("broken", "boom")
    assert "rc=3" in honcho.stopped("broken")
    assert honcho.stopped("steady")


def test_a_stop_request_is_forwarded_to_every_child_which_exits_cleanly(run_honcho):
    # given two children that are up
    honcho = run_honcho({"one": POLITE, "two": POLITE})
    assert honcho.out.wait_for("ready", count=2)
    # when Ctrl-C arrives
    honcho.process.send_signal(signal.SIGINT)
    code = honcho.wait()
    # then every child was asked to stop once and stopped cleanly; honcho says it was interrupted
    assert code == 128 + signal.SIGINT
    assert honcho.said("one", "bye")
    assert honcho.said("two", "bye")
    assert "rc=0" in honcho.stopped("one")
    assert "rc=0" in honcho.stopped("two")


@pytest.fixture
def listening_port():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.mark.django_db
def test_the_banner_is_shown_once_the_web_address_answers(listening_port):
    # given a web server that answers on every address, and one demo user
    UserFactory(username="vip1")
    out = Lines()
    # when
    show_banner_when_ready(host="0.0.0.0", port=listening_port, write=out.write)  # noqa: S104
    # then the banner, once, with the address to open and the demo user that exists
    assert len(out.lines) == 1
    assert f"http://127.0.0.1:{listening_port}/" in out.lines[0]
    assert "vip1" in out.lines[0]
    assert "supervisor1" not in out.lines[0]


def test_a_child_killed_by_a_signal_is_reported_and_stops_the_others(run_honcho):
    # given a child that is killed
    killed = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    honcho = run_honcho({"steady": POLITE, "killed": killed})
    # when
    code = honcho.wait()
    # then
    assert code != 0
    assert f"rc=-{signal.SIGKILL.value}" in honcho.stopped("killed")
    assert honcho.stopped("steady")
