"""EXPLAIN (ANALYZE, BUFFERS) of the queries the product really runs: each URL is asked in-process
(the bench settings and urlconf), every query it ran is captured with its parameters, and each
SELECT is explained. Prints, per URL, each query's time, its plan's scans and, with --plans, the
whole plan. This is how the indexes of the README's performance section were chosen.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench .venv/bin/python bench/explain.py
    ... bench/explain.py --plans "/api/v1/customers/?search=王建强"
"""

import argparse
import os
import re
import secrets
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(48))

# isort: split
from harness import sql  # sets Django up: import it first

# isort: split

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from crm.accounts.models import User
from crm.demo.logins import ADMIN


def default_urls() -> list[tuple[str, str]]:
    """(who, url): the list API with each filter, ordering and a search; a manager's home and list;
    the customer page of their busiest customer."""
    manager_id, station_id = sql(
        "SELECT manager_id, MIN(station_id) FROM customers_customer WHERE manager_id IS NOT NULL "
        "GROUP BY manager_id ORDER BY COUNT(*) DESC, manager_id LIMIT 1"
    )[0]
    customer_id = sql("SELECT MIN(id) FROM customers_customer WHERE manager_id = %s", [manager_id])[0][0]
    name = sql("SELECT name FROM customers_customer WHERE category = 'residential' ORDER BY id LIMIT 1")[0][0]
    api = "/api/v1/customers/"
    urls = [("admin", api), ("admin", f"{api}?tier=key_account"), ("admin", f"{api}?manager={manager_id}")]
    urls += [("admin", f"{api}?station={station_id}&status=active"), ("admin", f"{api}?search={name}")]
    urls += [("admin", f"{api}?tier=key_account&search=有限公司"), ("admin", f"{api}?unassigned=true")]
    urls += [("admin", f"{api}?ordering=-annual_consumption_kwh"), ("admin", f"{api}?ordering=name")]
    urls += [("admin", f"{api}?ordering=-updated_at&page=20"), (str(manager_id), api)]
    urls += [(str(manager_id), "/"), (str(manager_id), f"/customers/{customer_id}/")]
    return urls


def client_for(who: str) -> Client:
    user = User.objects.get(username=ADMIN) if who == "admin" else User.objects.get(pk=int(who))
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(user)
    token = Token.objects.get_or_create(user=user)[0].key
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token}"
    return client


def explain(url: str, client: Client, *, plans: bool) -> None:
    with CaptureQueriesContext(connection) as queries:
        status = client.get(url).status_code
    print(f"\n== {url} ({status}, {len(queries)} queries)")
    for query in queries.captured_queries:
        statement = query["sql"]
        if not statement.lstrip().upper().startswith("SELECT"):
            continue
        plan = [row[0] for row in sql("EXPLAIN (ANALYZE, BUFFERS) " + statement)]
        total = next((line for line in plan if line.startswith("Execution Time")), "")
        scans = sorted(
            {
                m.group(0)
                for line in plan
                for m in [re.search(r"(Seq|Index|Index Only|Bitmap Heap) Scan (using \S+ )?on \S+", line)]
                if m
            }
        )  # noqa: E501
        print(f"  {total.replace('Execution Time: ', ''):>12}  {statement[:110]}")
        print(f"                {'; '.join(scans)}")
        if plans:
            print("\n".join(f"      {line}" for line in plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("urls", nargs="*", help="URLs to explain, asked as the administrator")
    parser.add_argument("--plans", action="store_true", help="print every plan in full")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/explain.py needs PostgreSQL: set DATABASE_URL")
    urls = [("admin", url) for url in args.urls] or default_urls()
    clients: dict[str, Client] = {}
    for who, url in urls:
        client = clients.setdefault(who, client_for(who))
        explain(url, client, plans=args.plans)


if __name__ == "__main__":
    main()
