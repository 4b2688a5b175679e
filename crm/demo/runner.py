"""The banner of `make run`: honcho runs it beside the web server, the worker and beat (Procfile.local).
It waits until the web server answers, prints the address, the API docs and one demo login per role,
and then waits to be stopped with the others. Starting the processes, relaying their output and
stopping them all together (Ctrl-C, or any one of them exiting) is honcho's.

    python -m crm.demo.runner --host 127.0.0.1 --port 8000"""

import argparse
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

from django.conf import settings
from django.utils.translation import gettext as _

from crm.demo.logins import DEMO_LOGINS, logins_table

POLL_SECONDS = 0.2
WILDCARD_HOSTS = ("0.0.0.0", "::")  # noqa: S104 - names the wildcard addresses, binds nothing  # nosec B104


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


def show_banner_when_ready(*, host: str, port: int, write: Callable[[str], None]) -> None:
    """Wait until host:port accepts connections, then write the banner with the demo users present."""
    from django.contrib.auth import get_user_model  # after django.setup(), which main() runs

    address = ("127.0.0.1" if host in WILDCARD_HOSTS else host, port)
    while not _accepts(address):
        time.sleep(POLL_SECONDS)
    usernames = [username for _label, username in DEMO_LOGINS]
    present = set(get_user_model().objects.filter(username__in=usernames).values_list("username", flat=True))
    write(banner(base_url=f"http://{address[0]}:{port}/", usernames_present=present))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crm.demo.runner", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="the web server's address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="the web server's port (default 8000)")
    args = parser.parse_args(argv)

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.local")  # as manage.py
    django.setup()

    def write(text: str) -> None:
        print(text, flush=True)

    # honcho stops every process with SIGTERM: for this one that is the normal end.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: sys.exit(0))
    write(_("Starting web, worker and beat; the address follows when the web server answers."))
    show_banner_when_ready(host=args.host, port=args.port, write=write)
    while True:
        signal.pause()


def _accepts(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=0.2):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
