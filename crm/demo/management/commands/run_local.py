"""`manage.py run_local`: the whole product on one machine, as `make run` starts it: the web server,
a Celery worker and beat, stopped together with Ctrl-C."""

import signal
import sys

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.demo.logins import DEMO_LOGINS
from crm.demo.runner import WILDCARD_HOSTS, Supervisor, banner, local_processes


class Command(BaseCommand):
    help = "Run the web server, a Celery worker and Celery beat together (Ctrl-C stops all three)."
    requires_system_checks = []  # runserver, the worker and beat each run the checks themselves

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="web port (default 8000)")
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")

    def handle(self, *args, port, host, **options):
        shown_host = "127.0.0.1" if host in WILDCARD_HOSTS else host
        base_url = f"http://{shown_host}:{port}/"
        present = set(
            User.objects.filter(username__in=[u for _label, u in DEMO_LOGINS]).values_list(
                "username", flat=True
            )
        )

        def write(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        supervisor = Supervisor(
            local_processes(host=host, port=port),
            write=write,
            on_ready=lambda: write(banner(base_url=base_url, usernames_present=present)),
            ready_address=(host, port),
        )
        signal.signal(signal.SIGINT, supervisor.request_stop)
        signal.signal(signal.SIGTERM, supervisor.request_stop)
        write(_("Starting web, worker and beat; the address follows when the web server answers."))
        supervisor.start()
        code = supervisor.run()
        if code:
            sys.exit(code)
