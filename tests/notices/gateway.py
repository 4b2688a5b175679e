"""A small SMS gateway for the tests, run as its own process on 127.0.0.1:

    python gateway.py <key> <state dir> <fail first N requests> <mode: error|slow>

It checks each request's HMAC signature (401 otherwise), takes each `message_id` once (a repeat
is answered `duplicate` and not delivered again: the provider's deduplication), and appends every
request it received to `requests.jsonl` and every message it delivered to `delivered.jsonl`.
The first N requests fail: `error` answers 500 without taking the message; `slow` takes it and
answers only after the client has given up (the timeout after acceptance that makes a naive
retry send twice). It writes its port to `port` once listening."""

import contextlib
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

KEY, STATE, FAIL_FIRST, MODE = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
LOCK = threading.Lock()
SEEN: set[str] = set()
COUNT = [0]


def _append(name: str, record: dict) -> None:
    with (STATE / name).open("a", encoding="utf-8") as out:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        return

    def _answer(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        timestamp = self.headers.get("X-Timestamp", "")
        expected = hmac.new(KEY.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, self.headers.get("X-Signature", "")):
            return self._answer(401, {"error": "bad signature"})
        message = json.loads(body)
        with LOCK:
            COUNT[0] += 1
            number = COUNT[0]
            _append("requests.jsonl", message)
            failing = number <= FAIL_FIRST
            if failing and MODE == "error":
                return self._answer(500, {"error": "unavailable"})
            duplicate = message["message_id"] in SEEN
            if not duplicate:
                SEEN.add(message["message_id"])
                _append("delivered.jsonl", message)
        if failing and MODE == "slow":
            time.sleep(2)  # the gateway's own slowness: the client gave up long before
        return self._answer(
            200, {"status": "duplicate" if duplicate else "accepted", "gateway_id": f"G{number}"}
        )


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
(STATE / "port.tmp").write_text(str(server.server_address[1]))
(STATE / "port.tmp").rename(STATE / "port")
server.serve_forever()
