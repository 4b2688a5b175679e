"""A real HTTP receiver on 127.0.0.1 (a socket and a thread), answering with the codes a test
scripts, and the settings the delivery tests share (private URLs allowed: the receiver is on
loopback; the retry schedule shortened to no waits)."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.models import WebhookEndpoint
from integrations.services import endpoint_save


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """`answers`: the (status, headers) to give, in order; the last repeats. `hang`: never answer
    (the handler waits until the test ends)."""

    url: str = ""
    answers: list[tuple[int, dict]] = field(default_factory=lambda: [(200, {})])
    hang: bool = False
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)

    def next_answer(self) -> tuple[int, dict]:
        with self.lock:
            index = min(len(self.received) - 1, len(self.answers) - 1)
            return self.answers[index]


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.lock:
                receiver.received.append(Received(headers=dict(self.headers.items()), body=body))
            if receiver.hang:
                receiver.released.wait(30)
                return
            code, headers = receiver.next_answer()
            self.send_response(code)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):  # quiet
            pass

    return Handler


@pytest.fixture
def receiver():
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    state.released.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def webhook_settings(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOKS_RETRY_SCHEDULE = [0, 0, 0]
    settings.WEBHOOKS_TIMEOUT_SECONDS = 5
    settings.WEBHOOKS_TASK_SECONDS = 20
    return settings


@pytest.fixture
def endpoint_for(webhook_settings):
    def make(receiver, *, events=("customer.tier_changed",), owner=None) -> WebhookEndpoint:
        endpoint = endpoint_save(endpoint=None, by=None, url=receiver.url, events=list(events))
        if owner is not None:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(owner=owner)
            endpoint.refresh_from_db()
        return endpoint

    return make
