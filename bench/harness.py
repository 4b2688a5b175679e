"""What every benchmark needs: Django set up from the project root, a PostgreSQL database that
exists and is migrated, server-side pseudo-random numbers, and the figures written with the machine
they were measured on. Import it first: `from harness import ...` sets Django up."""

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

RESULTS = ROOT / "bench" / "results"

# Deterministic pseudo-random numbers in [0, 1) from an id (and a salt), computed by the server.
RND = "((hashtext(({expr})::text || '{salt}') & 2147483647)::float8 / 2147483648.0)"


def percentiles(samples: list[float]) -> dict:
    """p50 and p95 of timings in seconds, in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 1), "p95_ms": round(p95 * 1000, 1)}


def rnd(expr: str, salt: str) -> str:
    return RND.format(expr=expr, salt=salt)


def sql(statement: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def bench_station():
    """The supply station (of its own branch and company) every benchmark's rows belong to."""
    from customers.models import Branch, Company, Station

    company, _ = Company.objects.get_or_create(code="BENCH", defaults={"name": "bench"})
    branch, _ = Branch.objects.get_or_create(code="BENCH", defaults={"name": "bench", "company": company})
    station, _ = Station.objects.get_or_create(code="BENCH", defaults={"name": "bench", "branch": branch})
    return station


def arguments(description: str) -> argparse.ArgumentParser:
    """The options every benchmark takes: how many customers, and whether to reuse the data."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--skip-build", action="store_true", help="reuse the data of the previous run")
    return parser


def prepare_database(script: str) -> list[float]:
    """Refuse anything but PostgreSQL, create the database when missing, migrate it; returns the
    load average at the start (other work on the machine skews the figures)."""
    if connection.vendor != "postgresql":
        sys.exit(f"bench/{script} needs PostgreSQL: set DATABASE_URL (see the docstring).")
    _ensure_database()
    call_command("migrate", verbosity=0)
    return [round(x, 2) for x in os.getloadavg()]


def _ensure_database() -> None:
    """Create the benchmark's database when it does not exist yet (connecting to `postgres`)."""
    import psycopg2

    settings = connection.settings_dict
    try:
        connection.ensure_connection()
    except Exception:  # noqa: BLE001 - whatever the reason, try to create it once
        admin = psycopg2.connect(
            dbname="postgres",
            user=settings["USER"],
            password=settings["PASSWORD"],
            host=settings["HOST"],
            port=settings["PORT"] or 5432,
        )
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{settings["NAME"]}"')
        admin.close()


def write_results(name: str, figures: dict, *, load_at_start: list[float]) -> Path:
    """Add the machine, the server version and the time to `figures`; write them as JSON."""
    figures["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_at_start": load_at_start,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    figures["postgresql"] = sql("SHOW server_version")[0][0]
    figures["at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.json"
    out.write_text(json.dumps(figures, indent=2, default=str))
    print(f"written to {out.relative_to(ROOT)}")
    return out
