"""The second process of `make bench`: concurrent load on the customer list API while bench/run.py
measures. Each thread asks, one request after another, for a page of the list with one of the
filters, orderings and searches a client uses, until the process is stopped (SIGTERM); it then
prints how many requests it made and how many failed. No Django here: only HTTP.

    python bench/load.py --base http://127.0.0.1:8765 --token KEY --threads 2 --param station=3
"""

import argparse
import itertools
import signal
import threading
import time

import requests

QUERIES = [
    {},
    {"tier": "key_account"},
    {"tier": "vip", "ordering": "-annual_consumption_kwh"},
    {"status": "active", "ordering": "name"},
    {"category": "commercial", "page": 3},
    {"tier": "community", "page": 20},
    {"search": "有限公司"},
    {"ordering": "-updated_at"},
]


def worker(base: str, token: str, extra: list[dict], stop: threading.Event, tally: list[int], n: int) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    for query in itertools.cycle(QUERIES[n % len(QUERIES) :] + QUERIES[: n % len(QUERIES)] + extra):
        if stop.is_set():
            return
        try:
            ok = session.get(f"{base}/api/v1/customers/", params=query, timeout=60).status_code == 200
        except requests.RequestException:
            ok = False
        tally[0 if ok else 1] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--param", action="append", default=[], help="an extra query, name=value")
    args = parser.parse_args()
    extra = [dict([p.split("=", 1)]) for p in args.param]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    tallies = [[0, 0] for _ in range(args.threads)]
    started = time.monotonic()
    threads = [
        threading.Thread(target=worker, args=(args.base, args.token, extra, stop, tallies[i], i), daemon=True)
        for i in range(args.threads)
    ]
    for thread in threads:
        thread.start()
    while not stop.wait(0.5):
        pass
    for thread in threads:
        thread.join(timeout=70)
    done, failed = sum(t[0] for t in tallies), sum(t[1] for t in tallies)
    seconds = time.monotonic() - started
    print(f"{done} {failed} {seconds:.1f}", flush=True)


if __name__ == "__main__":
    main()
