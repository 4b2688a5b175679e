"""Runs the web server, a Celery worker and beat side by side for `make run`, and stops them together.

Each child runs in its own session, so a Ctrl-C in the terminal reaches only this supervisor, which
forwards it once to every child and waits for them to shut down cleanly. When any child dies, the
others are stopped and the supervisor exits, saying which one died."""

import contextlib
import os
import signal
import socket
import subprocess  # runs our own interpreter's children only  # nosec B404
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from crm.demo.logins import logins_table

STOP_GRACE_SECONDS = 15
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Child:
    name: str
    argv: list[str]


def local_processes(*, host: str, port: int) -> list[Child]:
    """The three processes of `make run`, all on this Python: runserver, a worker that can share
    SQLite with the web process (one task at a time), and beat with the database scheduler."""
    python = sys.executable
    manage = str(settings.BASE_DIR / "manage.py")
    celery = [python, "-m", "celery", "-A", "crm"]
    return [
        Child("web", [python, manage, "runserver", f"{host}:{port}", "--noreload"]),
        Child(
            "worker",
            [*celery, "worker", "--loglevel=INFO", "--pool=solo", "--without-gossip", "--without-mingle"],
        ),
        Child(
            "beat",
            [*celery, "beat", "--loglevel=INFO", f"--pidfile={settings.BASE_DIR / 'var' / 'celerybeat.pid'}"],
        ),
    ]


def banner(*, base_url: str, usernames_present: set[str] | None) -> str:
    broker = (
        _("Redis (%(url)s)") % {"url": settings.CELERY_BROKER_URL.split("@")[-1]}
        if settings.CELERY_BROKER_URL.startswith("redis")
        else _("the filesystem broker in var/broker/")
    )
    rule = "-" * 72
    return "\n".join(
        [
            rule,
            _("Power supply CRM is running."),
            f"  {_('Web')}       {base_url}",
            f"  {_('API docs')}  {base_url}api/v1/docs/",
            f"  {_('Admin')}     {base_url}admin/",
            f"  {_('Health')}    {base_url}api/v1/health/",
            _("Worker and beat use %(broker)s.") % {"broker": broker},
            "",
            _("Demo logins, one per role:"),
            logins_table(usernames_present),
            "",
            _("Press Ctrl-C to stop."),
            rule,
        ]
    )


class Supervisor:
    """Starts the children, relays their output line by line with a name prefix, and stops them all
    when asked to or when one of them dies."""

    def __init__(
        self,
        children: list[Child],
        *,
        write: Callable[[str], None],
        on_ready: Callable[[], None] | None = None,
        ready_address: tuple[str, int] | None = None,
    ):
        self.children = children
        self.write = write
        self.on_ready = on_ready  # called once, when ready_address accepts connections
        self.ready_address = ready_address
        self.processes: dict[str, subprocess.Popen] = {}
        self._stop_signal: int | None = None
        self._lock = threading.Lock()
        self._pumps: list[threading.Thread] = []

    def request_stop(self, signum: int = signal.SIGTERM, _frame=None) -> None:
        """Ask for a clean stop (a signal handler, or a caller on another thread)."""
        if self._stop_signal is None:
            self._stop_signal = signum

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        width = max(len(c.name) for c in self.children)
        for child in self.children:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments  # nosec B603
                child.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(settings.BASE_DIR),
                start_new_session=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                bufsize=1,
            )
            self.processes[child.name] = process
            pump = threading.Thread(
                target=self._pump,
                args=(child.name.ljust(width), process),
                daemon=True,
                name=f"pump-{child.name}",
            )
            pump.start()
            self._pumps.append(pump)

    def _pump(self, label: str, process: subprocess.Popen) -> None:
        for line in process.stdout:
            with self._lock:
                self.write(f"{label} | {line.rstrip()}")

    def run(self) -> int:
        """Wait until a stop is requested (0) or a child exits (its code; 1 if it was 0)."""
        ready = self.ready_address is None
        while True:
            if self._stop_signal is not None:
                self._say(_("Stopping web, worker and beat..."))
                self.stop(self._stop_signal)
                return 0
            for name, process in self.processes.items():
                code = process.poll()
                if code is not None:
                    self._say(
                        _("The %(name)s process exited with code %(code)s; stopping the others.")
                        % {"name": name, "code": code}
                    )
                    self.stop(signal.SIGTERM)
                    return 128 - code if code < 0 else code or 1  # killed by a signal: 128 + its number
            if not ready and _accepts(self.ready_address):
                ready = True
                if self.on_ready:
                    with self._lock:
                        self.on_ready()
            time.sleep(POLL_SECONDS)

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Forward `signum` once to every child still running; kill those still there after the grace."""
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signum)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for pump in self._pumps:
            pump.join(timeout=2)

    def _say(self, message: str) -> None:
        with self._lock:
            self.write(f"run_local: {message}")


WILDCARD_HOSTS = ("0.0.0.0", "::")  # noqa: S104 - names the wildcard addresses, binds nothing  # nosec B104


def _accepts(address: tuple[str, int]) -> bool:
    host, port = address
    try:
        with socket.create_connection(("127.0.0.1" if host in WILDCARD_HOSTS else host, port), timeout=0.2):
            return True
    except OSError:
        return False
