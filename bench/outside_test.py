"""Rerun the outside security test as an attacker would, against the production shape on this machine.

Drops and creates the PostgreSQL database `crm_outside`, empties Redis db 9, migrates and seeds the demo
(`seed_demo --customers 2000`) under `crm.settings.production`; starts `gunicorn crm.wsgi` (3 workers,
a free port on 127.0.0.1) and one `celery -A crm worker`; sends the hostile requests of the 16 findings
of docs/security.md and judges each answer (the safe refusal against the original bad outcome, no 5xx,
nothing written: read back over the API or from the database); runs a bounded schemathesis pass with
all checks; prints one table; stops every process it started (process groups, also on error).

    .venv/bin/python bench/outside_test.py

Exit 0 with the table whatever it found; 2 when it could not run. Plain http: requests carry
`X-Forwarded-Proto: https` (production's SECURE_PROXY_SSL_HEADER) and the client returns the Secure
cookies itself. Default throttles and lock-out limits; the lock-out probes connect from 127.0.0.5 and
127.0.0.6, so only those addresses are locked.
"""

import datetime as dt
import io
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import psycopg2
import redis
import requests
from requests.adapters import HTTPAdapter

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
DB_NAME = "crm_outside"
PASSWORD = "Demo-Power-2026"  # noqa: S105 - the published demo log-in (README)
LOGS = Path(tempfile.mkdtemp(prefix="outside_test_"))
ENV = {**os.environ, "DJANGO_SETTINGS_MODULE": "crm.settings.production", "DJANGO_MEDIA_ROOT": str(LOGS)}
ENV |= {"DJANGO_SECRET_KEY": secrets.token_urlsafe(48), "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost"}
ENV |= {
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
    "DJANGO_SECURE_SSL_REDIRECT": "false",
}
ENV |= {"REDIS_URL": "redis://127.0.0.1:6379/9"}
API, JSON = "/api/v1/", {"Content-Type": "application/json"}
TODAY = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the product's TIME_ZONE
BASE, NOW = "", {"finding": ""}  # the server's address; the finding being probed
STATS = defaultdict(lambda: {"sent": 0, "safe": 0, "unsafe": 0, "5xx": 0})
UNSAFE, SEEN = [], []  # the unsafe answers; (method, path, status) of every API answer, for finding 16
TITLES = "supervisor re-parents a manager|XLSX of millions of empty rows|JSON nested hundreds deep|"
TITLES += "panel member reads others' results|formula injection in XLSX exports|wrong encodings as mojibake|"
TITLES += "ad hoc / back-dated evidence|absurd numbers in consumption|visits outside scope, job kinds|"
TITLES += "years before 1000, fullwidth|tokens survive / never expire|lock-out spraying / extended|"
TITLES += "role or cap that cannot hold|out-of-scope id tells existence|visit runs, cookie, no-store|"
TITLES += "schema vs server (answers seen)"
HEADER = ["户号", "户名", "用电类别", "供电电压", "合同容量", "重要用户等级"]
HEADER += ["供电所", "用电地址", "用户状态"]
HOSTILE = ['=HYPERLINK("http://evil.example/","click")', "=1+1", "+1", "-1", "@SUM(A1)", "#N/A"]
OWN = "SELECT id FROM customers_customer WHERE manager_id=10 AND status='active' LIMIT 1"  # community1's
ENGLISH = "Account No,Name,Category,Supply voltage,Station\r\n"


def setup_database() -> None:
    admin = psycopg2.connect(dbname="postgres", user="postgres", host="127.0.0.1", port=5432)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{DB_NAME}"')
    admin.close()
    redis.Redis.from_url(ENV["REDIS_URL"]).flushdb()
    for args in (["migrate", "-v0"], ["seed_demo", "--customers", "2000", "-v0"]):
        command = [str(VENV / "python"), "manage.py", *args]
        subprocess.run(command, cwd=ROOT, env=ENV, check=True, stdout=subprocess.DEVNULL)  # noqa: S603


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_healthy(processes) -> None:
    for _ in range(120):
        if any(p.poll() is not None for p in processes):
            raise RuntimeError(f"a server process exited; see {LOGS}")
        try:
            if requests.get(f"{BASE}{API}health/", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.5)
    raise RuntimeError("/api/v1/health/ did not answer 200")


def db(statement: str, params=()) -> list[tuple]:
    with psycopg2.connect(dbname=DB_NAME, user="postgres", host="127.0.0.1") as conn, conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall() if cur.description else []


def one(statement: str, params=()):
    return db(statement, params)[0][0]


def client(token: str | None = None, source: str | None = None) -> requests.Session:
    s = requests.Session()
    s.headers.update({"X-Forwarded-Proto": "https", "Accept-Language": "zh-hans"})
    if token:
        s.headers["Authorization"] = f"Token {token}"
    if source:  # connect from another loopback address: the server's REMOTE_ADDR
        adapter = HTTPAdapter()
        adapter.init_poolmanager(10, 10, source_address=(source, 0))
        s.mount("http://", adapter)
    return s


def send(s: requests.Session, where: str, **kwargs) -> requests.Response:
    """`where` is "METHOD path"; a path without a leading slash is under /api/v1/."""
    method, path = where.split(" ", 1)
    path = path if path.startswith("/") else API + path
    if "Authorization" not in s.headers and method != "GET" and "csrftoken" in s.cookies:
        csrf = {"X-CSRFToken": s.cookies["csrftoken"], "Origin": BASE.replace("http:", "https:")}
        kwargs["headers"] = {**csrf, **kwargs.get("headers", {})}
    response = s.request(method, BASE + path, timeout=60, allow_redirects=False, **kwargs)
    for cookie in s.cookies:  # production's cookies are Secure; this client talks plain http
        cookie.secure = False
    if path.startswith(API):
        SEEN.append((method, path.split("?")[0], response.status_code))
    return response


def judge(label, response, ok_statuses, check=None) -> bool:
    stat = STATS[NOW["finding"]]
    stat["sent"] += 1
    stat["5xx"] += response.status_code >= 500
    try:
        good = response.status_code in ok_statuses and (check is None or bool(check(response)))
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        good = False
    stat["safe" if good else "unsafe"] += 1
    if not good:
        req, answer = response.request, f"{response.status_code} {response.text[:300]!r}"
        sent = f"{req.method} {req.url} {(req.body or b'')[:150]!r}"
        UNSAFE.append(f"[{NOW['finding']}] {label}: {sent} -> {answer}")
    return good


def hit(label, s, where, ok_statuses, check=None, **kwargs) -> requests.Response:
    judge(label, response := send(s, where, **kwargs), ok_statuses, check)
    return response


def verify(label, ok: bool) -> None:  # a read-back: a bad write counts as one more unsafe answer
    if not ok:
        STATS[NOW["finding"]]["unsafe"] += 1
        UNSAFE.append(f"[{NOW['finding']}] read-back: {label}")


err = lambda *names: lambda r: any(name in r.json() for name in names)  # noqa: E731 - the fields refused
detail = lambda r: bool(r.json().get("detail"))  # noqa: E731 - a message not about fields


def log_in(username: str, page: bool = False):
    s, data = client(), {"username": username, "password": PASSWORD}
    if page:
        send(s, "GET /login/")
    response = send(s, "POST /login/", data=data) if page else send(s, "POST auth/token/", json=data)
    if response.status_code != (302 if page else 200):
        raise RuntimeError(f"log-in of {username}: {response.status_code} {response.text[:200]}")
    return s if page else response.json()["token"]


def f1_reparent(t, sup, sessions):
    targets = [(15, "vip2 (other team)"), (5, "supervisor2 (outside)"), (3, "billing")]
    targets += [(None, "nobody"), (2, "the director above"), (8, "key1 (own team)"), (1, "admin")]
    for to, why in targets:
        hit(f"vip1 under {why}", sup, "PATCH managers/7/", {400}, err("supervisor"), json={"supervisor": to})
    hit("key1 under vip3", sup, "PATCH managers/8/", {400}, err("supervisor"), json={"supervisor": 24})
    own = one("SELECT id FROM customers_customer WHERE manager_id = 7 LIMIT 1")
    body = {"customer": own, "manager": 15, "reason": "x"}
    hit("vip1's customer to vip2", sup, "POST assignments/", {400}, err("manager"), json=body)
    hit("read back", sup, "GET managers/7/", {200}, lambda r: r.json()["supervisor"] == 4)
    moved = one("SELECT count(*) FROM accounts_user WHERE id IN (7, 8) AND supervisor_id <> 4")
    verify(f"{moved} of vip1/key1 left supervisor1", moved == 0)
    holder = one("SELECT manager_id FROM customers_customer WHERE id=%s", (own,))
    verify(f"vip1's customer moved to {holder}", holder == 7)


def xlsx_of_empty_rows(rows: int, dimension: str | None, numbered: bool = False) -> bytes:
    """A workbook of the customers header and `rows` empty rows (packs about 600 to 1)."""
    book, source, out = openpyxl.Workbook(), io.BytesIO(), io.BytesIO()
    book.active.append(HEADER)
    book.save(source)
    src = zipfile.ZipFile(source)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                dim = f'<dimension ref="{dimension}"/>' if dimension else ""
                text = re.sub(r'<dimension ref="[^"]*"\s*/>', dim, data.decode())
                empty = "".join(f'<row r="{n + 2}"/>' for n in range(rows)) if numbered else "<row/>" * rows
                data = text.replace("</sheetData>", empty + "</sheetData>").encode()
            dst.writestr(item.filename, data)
    return out.getvalue()


def upload(s, label, name, content, ok_statuses, check=None, limit_s=10.0):
    started = time.monotonic()
    response = send(s, "POST imports/", files={"file": (name, content)}, data={"kind": "customers"})
    took = time.monotonic() - started
    fast_and = lambda r: took < limit_s and (not check or check(r))  # noqa: E731
    judge(f"{label} ({took:.1f} s)", response, ok_statuses, fast_and)
    return response


def customer_csv(account_no: str, name: str, blank_lines: int = 0) -> bytes:
    row = [account_no, name, "一般工商业", "0.4kV", "50", "无", "QH01", "路1号", "正常"]
    return (",".join(HEADER) + "\r\n" + ",".join(row) + "\r\n" * (blank_lines + 1)).encode()


def f2_empty_rows(t, sup, sessions):
    bill = client(t["billing"])
    before = one("SELECT count(*) FROM customers_customer")
    cases = [(20_000_000, None, "no dimension"), (2_000_000, "A1:I2000001", "dimension declared")]
    cases += [(2_000_000, "A1:I2", "dimension lying"), (300_000, None, "numbered, no dimension")]
    refused_or_queued = lambda r: r.status_code == 202 or "file" in r.json()  # noqa: E731
    for rows, dim, label in cases:
        content = xlsx_of_empty_rows(rows, dim, numbered="numbered" in label)
        upload(bill, f"{rows:,} empty rows, {label}", "e.xlsx", content, {400, 202}, refused_or_queued)
    csv = customer_csv("5999000001", "空行测试", blank_lines=100_000)
    queued = upload(bill, "CSV: one customer, 100,000 blank lines", "b.csv", csv, {201, 202, 400})
    deadline = time.monotonic() + 90
    pending = "SELECT count(*) FROM customers_importjob WHERE status IN ('queued', 'running')"
    while one(pending) and time.monotonic() < deadline:
        time.sleep(1)
    verify("import jobs still unfinished after 90 s", one(pending) == 0)
    if queued.status_code == 202:
        done = lambda r: r.json()["status"] in ("done", "rejected", "failed")  # noqa: E731
        hit("the queued job read back", bill, f"GET imports/{queued.json()['id']}/", {200}, done)
    after = one("SELECT count(*) FROM customers_customer")
    verify(f"customers {before} -> {after}: the empty workbooks wrote rows", after - before <= 1)


def f3_nested(t, sup, sessions):
    bill, anon = client(t["billing"]), client()
    for depth in (930, 100_000):
        body = "[" * depth + "]" * depth
        hit(f"anonymous, {depth} deep", anon, "POST auth/token/", {400}, detail, data=body, headers=JSON)
    for depth in (930, 2_000, 5_000, 20_000, 100_000):
        body = "[" * depth + "]" * depth
        hit(f"{depth} deep", sup, "PATCH managers/7/", {400}, detail, data=body, headers=JSON)
        hit(f"{depth} deep", bill, "POST consumption/bulk/", {400}, data=body, headers=JSON)
    body = '{"a":' * 930 + "1" + "}" * 930
    hit("objects 930 deep", sup, "POST visit-tasks/", {400}, detail, data=body, headers=JSON)
    hit("moderate nesting", sup, "PATCH managers/7/", {200, 400}, json={"x": [[[[["y"]]]]]})


def f4_panel(t, sup, sessions):
    hidden = ("score", "grade", "reward", "kind_scores", "effective_weights", "missing_kinds")
    no_result = lambda r: all(r.json().get(k) is None for k in hidden)  # noqa: E731
    for user, a in [("community1", 3), ("key2", 2), ("key1", 1)]:  # scoring, review, finalized
        c, uid = client(t[user]), one("SELECT id FROM accounts_user WHERE username=%s", (user,))
        grade = one("SELECT grade FROM appraisal_appraisal WHERE id=%s", (a,)) or "A"
        hit(f"{user} reads appraisal {a}", c, f"GET appraisals/{a}/", {200}, no_result)
        own_seat = lambda r, uid=uid: [s["user"] for s in r.json()] == [uid] and not r.json()[0]["link"]  # noqa: E731
        hit(f"{user} reads its panel", c, f"GET appraisals/{a}/panel/", {200}, own_seat)
        own_scores = lambda r: not r.json().get("panel")  # noqa: E731
        hit(f"{user} reads its scores", c, f"GET appraisals/{a}/scores/", {200}, own_scores)
        absent = lambda r, a=a: r.status_code == 400 or all(x["id"] != a for x in r.json()["results"])  # noqa: E731
        hit(f"{user} filters by the hidden grade", c, f"GET appraisals/?grade={grade}", {200, 400}, absent)
        unordered = lambda r, u=uid: all(x["score"] is None for x in r.json()["results"] if x["manager"] != u)  # noqa: E731
        hit(f"{user} orders by hidden scores", c, "GET appraisals/?ordering=-score", {200}, unordered)
    hit("vip1 reads its own panel", client(t["vip1"]), "GET appraisals/1/panel/", {403, 404}, detail)


def inert(content: bytes, found: list) -> bool:  # no formula in any sheet, every hostile text a text cell
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        sheets = [book.read(p) for p in book.namelist() if p.startswith("xl/worksheets/")]
    if any(b"<f>" in xml or b"<f " in xml for xml in sheets):
        return False
    book = openpyxl.load_workbook(io.BytesIO(content))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value in HOSTILE]
    found.append(len(cells))
    return all(c.data_type == "s" for c in cells)


def f5_formulas(t, sup, sessions):
    found, adm = [], client(t["admin"])
    hit("station named =HYPERLINK", adm, "PATCH stations/1/", {200, 400}, json={"name": HOSTILE[0]})
    for name in HOSTILE:
        body = {"kind": "customer_representative", "name": name, "organisation": name}
        hit(f"representative {name}", sup, "POST appraisals/3/panel/", {201, 400}, json=body)
    for name in HOSTILE[:2]:
        body = {"title": name, "hours": "2.0", "code": f"X{secrets.token_hex(3)}"}
        hit(f"course {name}", adm, "POST courses/", {201, 400}, json=body)
    year = one("SELECT year FROM appraisal_appraisalcycle LIMIT 1")
    exports = [(who, f"/appraisal/{year}/export.xlsx") for who in ("supervisor1", "director")]
    for who, path in [*exports, ("admin", "/training/compliance.xlsx")]:
        hit(f"{who} exports", sessions[who], f"GET {path}", {200}, lambda r: inert(r.content, found))
    verify(f"hostile text reached no export (cells found: {found}): the probe saw nothing", sum(found) > 0)


def f6_encodings(t, sup, sessions):
    bill = client(t["billing"])

    def english(row, encoding):
        return (ENGLISH + row + ",Commercial,10kV,QH01\r\n").encode(encoding)

    good = customer_csv("5999100010", "城关镇张三")
    files = [("Latin-1 Müller", english("5999100001,Müller GmbH", "latin-1"))]
    files += [("Shift-JIS 山田太郎", english("5999100002,山田太郎", "shift_jis"))]
    files += [("cp1252 Café Zoë", english("5999100003,Café Zoë", "cp1252"))]
    files += [("UTF-8 then a GBK line", good + "5999100011,城关镇李四,一般工商业\r\n".encode("gbk"))]
    files += [("GBK then a UTF-8 line", good.decode().encode("gbk") + "5999100012,城关镇王五\r\n".encode())]
    files += [("U+FFFD of a failed conversion", english("5999100004,M\ufffdller", "utf-8"))]
    for label, content in files:
        upload(bill, label, "customers.csv", content, {400}, err("file"))
    written = db("SELECT account_no, name FROM customers_customer WHERE account_no LIKE '59991%%'")
    verify(f"mojibake stored: {written}", not written)


def f7_evidence(t, sup, sessions):
    mine, day = client(t["community1"]), TODAY
    body = {"kind": "ad_hoc", "customer": one(OWN), "manager": 10, "due_date": day.isoformat()}
    task = send(mine, "POST visit-tasks/", json=body)
    if not judge("ad hoc task for an own customer (allowed)", task, {201}):
        return
    report = {"channel": "on_site", "people_met": "x", "business_trend": "growing", "needs": "x"}
    report |= {"satisfaction": 5}
    url = f"POST visit-tasks/{task.json()['id']}/report/"
    for days, label in [(30, "30 days back"), (8, "8 days back"), (1, "before the task"), (365, "a year")]:
        body = {**report, "visited_on": (day - dt.timedelta(days)).isoformat()}
        hit(f"self-rated report dated {label}", mine, url, {400}, err("visited_on"), json=body)
    stored = db("SELECT visited_on FROM visits_visitreport WHERE task_id=%s", (task.json()["id"],))
    verify(f"back-dated report stored: {stored}", not stored)
    hit("same-day report (allowed)", mine, url, {200, 201}, json={**report, "visited_on": day.isoformat()})
    evidence = one("SELECT evidence::text FROM appraisal_appraisal WHERE manager_id=10") or "{}"
    verify("the evidence shows no ad hoc figures apart", "ad_hoc_visits" in evidence)


def f8_numbers(t, sup, sessions):
    bill = client(t["billing"])
    join = "customers_customer c JOIN customers_consumptionrecord r ON r.customer_id = c.id"
    acct, cid = db(f"SELECT c.account_no, c.id FROM {join} LIMIT 1")[0]
    reading = "SELECT to_char(period, 'YYYY-MM'), kwh FROM customers_consumptionrecord WHERE customer_id=%s"
    period, kwh = db(reading + " ORDER BY period DESC LIMIT 1", (cid,))[0]
    table = "SELECT count(*), sum(kwh), sum(amount_yuan) FROM customers_consumptionrecord"
    totals = db(table)[0]
    kwhs = ["1e-20000", "1e-16000", "1e20000", "NaN", "Infinity", "1_000", "12,5", "12.345", "١٢", "1²"]
    cases = [(f"kwh {v}", {"kwh": v}) for v in kwhs]
    cases += [("amount of 17,000 decimals", {"kwh": "10", "amount_yuan": "1." + "3" * 17000})]
    for label, values in cases:
        rows = [{"account_no": acct, "period": period, "amount_yuan": "1", **values}]
        hit(label, bill, "POST consumption/bulk/", {400}, lambda r: bool(r.json()), json=rows)
    for number in ["1e-20000", "12.345678901234567890", "9" * 5000, "-0.001"]:
        body = f'[{{"account_no": "{acct}", "period": "{period}", "kwh": {number}, "amount_yuan": 1}}]'
        hit(f"bare number {number[:24]}", bill, "POST consumption/bulk/", {400}, data=body, headers=JSON)
    rows = [{"account_no": acct, "period": period, "kwh": "1e-16000", "amount_yuan": "1"}]
    hit("partial, a vanishing reading", bill, "POST consumption/bulk/?partial=true", {200, 400}, json=rows)
    now = db(reading + " AND to_char(period, 'YYYY-MM')=%s", (cid, period))[0][1]
    verify(f"the reading {kwh} became {now}", now == kwh)
    verify("the consumption table changed", db(table)[0] == totals)


def f9_visit_scope(t, sup, sessions):
    mine, adm = client(t["community1"]), client(t["admin"])
    before, due = one("SELECT count(*) FROM visits_visittask"), (TODAY + dt.timedelta(days=3)).isoformat()
    other = one("SELECT id FROM customers_customer WHERE manager_id=18 LIMIT 1")
    cases = [("station 3's community", {"community": 16}, "community", mine)]
    cases += [("station 2's district", {"transformer_district": 13}, "transformer_district", mine)]
    cases += [("another team's customer", {"customer": other}, "customer", mine)]
    cases += [("supervisor: station 3's community", {"community": 17}, "community", sup)]
    for label, target, field, c in cases:
        body = {"kind": "ad_hoc", "manager": 10, "due_date": due, **target}
        hit(label, c, "POST visit-tasks/", {400}, err(field), json=body)
    for kind in ("care", "tier_change", "scheduled"):
        for c, who in ((mine, "manager"), (sup, "supervisor"), (adm, "admin")):
            body = {"kind": kind, "manager": 10, "due_date": due, "customer": one(OWN)}
            hit(f"{who} makes a {kind} task", c, "POST visit-tasks/", {400}, err("kind"), json=body)
    verify("tasks were written", one("SELECT count(*) FROM visits_visittask") == before)


def f10_dates(t, sup, sessions):
    adm, mine, customer = client(t["admin"]), client(t["community1"]), one(OWN)
    before = one("SELECT count(*) FROM visits_visittask")
    dates = ["0471-08-31", "471-08-31", "1899-12-31", "2101-01-01", "0001-01-01", "9999-12-31"]
    dates += ["２０２６-12-15", "٢٠٢٦-12-15", "+2026-12-15"]
    for value in dates:
        body = {"kind": "ad_hoc", "manager": 10, "customer": customer, "due_date": value}
        hit(f"visit task due {value}", mine, "POST visit-tasks/", {400}, err("due_date"), json=body)
    body = {"tier": "vip", "reason": "x", "until": "2101-01-01"}
    hit("pin until 2101", adm, f"POST customers/{customer}/pin-tier/", {400}, err("until"), json=body)
    body = {"effective_from": "0471-01-01", "vip_kwh": "1", "key_kwh": "1"}
    hit("tier policy from 0471", adm, "POST tier-policies/", {400}, err("effective_from"), json=body)
    body = {"manager": 10, "course": one("SELECT min(id) FROM training_course"), "session_date": "0471-03-01"}
    hit("training in 0471", adm, "POST training-records/", {400}, err("session_date"), json=body)
    padded = lambda r: not re.search(r'"\d{1,3}-\d\d-\d\d"', r.text)  # noqa: E731
    hit("filter by a year-471 date", mine, "GET visit-tasks/?due_before=0471-12-31", {200, 400}, padded)
    verify("tasks were written", one("SELECT count(*) FROM visits_visittask") == before)
    late = "SELECT 1 FROM customers_customer WHERE id=%s AND tier_pinned_until > '2100-12-31'"
    verify("pin until 2101 written", not db(late, (customer,)))


def f11_tokens(t, sup, sessions):
    old, key2 = t["key2"], one("SELECT id FROM accounts_user WHERE username='key2'")
    hit("key2's token before", client(old), "GET managers/9/", {200})
    page = f"/admin/accounts/user/{key2}/password/"
    send(sessions["admin"], f"GET {page}")
    new = f"Another-{secrets.token_hex(6)}"
    body = {"password1": new, "password2": new, "usable_password": "true"}
    judge("admin changes key2's password", send(sessions["admin"], f"POST {page}", data=body), {302})
    hit("key2's old token after the change", client(old), "GET managers/9/", {401}, detail)
    verify("key2's old token row survives", not db("SELECT 1 FROM authtoken_token WHERE key=%s", (old,)))
    stale = t["community2"]
    db("UPDATE authtoken_token SET created = now() - interval '91 days' WHERE key=%s", (stale,))
    hit("a 91-day-old token", client(stale), "GET managers/11/", {401}, detail)
    fresh = log_in("community2")
    verify("log-in after expiry gave the expired token back", fresh != stale)
    hit("the new token", client(fresh), "GET managers/11/", {200})
    hit("revoke it", client(fresh), "DELETE auth/token/", {204})
    hit("the revoked token", client(fresh), "GET managers/11/", {401}, detail)


def attempt(s, label, username, password, ok_statuses):
    send(s, "GET /login/")  # the form and its CSRF cookie, as a browser would
    data = {"username": username, "password": password}
    hit(label, s, "POST /login/", ok_statuses, lambda r: "sessionid" not in r.cookies, data=data)


def f12_lockout(t, sup, sessions):
    failures = "SELECT coalesce(sum(failures_since_start), 0) FROM axes_accessattempt WHERE ip_address=%s"
    single, spray = client(source="127.0.0.6"), client(source="127.0.0.5")
    for n in range(6):
        attempt(single, f"key4 wrong password #{n + 1}", "key4", f"wrong-{n}", {200, 429})
    attempt(single, "key4's right password after 6 failures", "key4", PASSWORD, {429})
    names = [f"nobody{n:02d}" for n in range(22)]
    names += [f"{role}{n}" for role in ("vip", "key") for n in (2, 3, 5, 6)]
    for name in names:
        attempt(spray, f"spray {name}", name, "Spring-2026!", {200, 429})
    attempt(spray, "sprayed address: district3's right password", "district3", PASSWORD, {429})
    body, forged = {"username": "district4", "password": PASSWORD}, {"X-Forwarded-For": "10.9.8.7"}
    hit("sprayed address: token for district4", spray, "POST auth/token/", {429}, detail, json=body)
    hit("forged X-Forwarded-For", spray, "POST auth/token/", {429}, detail, json=body, headers=forged)
    counted = one(failures, ("127.0.0.5",))
    for n, (name, password) in enumerate([("district3", "x"), ("district6", PASSWORD), ("key4", "y")]):
        attempt(spray, f"attempt #{n + 1} during the lock-out", name, password, {429})
    later = one(failures, ("127.0.0.5",))
    verify(f"failures during the lock-out counted ({counted} -> {later})", later == counted)
    body, issued = {"username": "district3", "password": PASSWORD}, lambda r: r.json()["token"]
    hit("another address still logs in", client(), "POST auth/token/", {200}, issued, json=body)


def f13_fit(t, sup, sessions):
    cases = [("vip1 to district manager", 7, {"role": "transformer_district_manager"})]
    cases += [("community1 to VIP manager", 10, {"role": "vip_manager"})]
    cases += [(f"vip1 capped at {n}", 7, {"max_customers": n}) for n in (0, 1, -5)]
    for label, who, body in cases:
        hit(label, sup, f"PATCH managers/{who}/", {400}, err(*body), json=body)
    rows = db("SELECT role, max_customers FROM managers_manager WHERE user_id IN (7, 10) ORDER BY user_id")
    verify(f"roles or caps changed: {rows}", rows == [("vip_manager", 500), ("community_manager", 500)])


def f14_existence(t, sup, sessions):
    texts, course = set(), one("SELECT min(id) FROM training_course")
    for manager in (15, 24, 987654, 3):
        body = {"manager": manager, "course": course, "session_date": "2026-01-05"}
        r = hit(f"record for {manager}", sup, "POST training-records/", {400}, err("manager"), json=body)
        texts.add(r.text.replace(str(manager), "N"))
    verify(f"existing and unknown ids answered differently: {texts}", len(texts) == 1)
    record, moved = db("SELECT min(id) FROM training_trainingrecord WHERE manager_id=7")[0][0], set()
    for m in (15, 987654) if record else ():
        r = hit(f"move to {m}", sup, f"PATCH training-records/{record}/", {400}, json={"manager": m})
        moved.add(r.text.replace(str(m), "N"))
    verify(f"moves answered differently: {moved}", len(moved) <= 1)
    other = one("SELECT id FROM customers_customer WHERE manager_id=18 LIMIT 1")
    texts = {hit(f"customer {c}", sup, f"GET customers/{c}/", {404}).text for c in (other, 9999999)}
    verify(f"customer 404s differ: {texts}", len(texts) == 1)


def f15_private(t, sup, sessions):
    mine, s = client(t["community1"]), sessions["community1"]
    run_id = (db("SELECT id FROM visits_visitrun LIMIT 1") or [(1,)])[0][0]
    hit("manager lists visit runs", mine, "GET visit-runs/", {403}, detail)
    hit("manager reads a visit run", mine, f"GET visit-runs/{run_id}/", {403}, detail)
    hit("key1 lists visit runs", client(t["key1"]), "GET visit-runs/", {403}, detail)
    hit("supervisor still reads them", sup, "GET visit-runs/", {200})
    r = hit("language switch", s, "POST /i18n/setlang/", {302}, data={"language": "en", "next": "/"})
    cookie = r.headers.get("Set-Cookie", "").lower()
    flags = all(f in cookie for f in ("httponly", "secure", "samesite=lax"))
    verify(f"language cookie flags: {cookie}", flags)
    no_store = lambda r: "no-store" in r.headers.get("Cache-Control", "")  # noqa: E731
    hit("API answer to a token", mine, "GET customers/", {200}, no_store)
    hit("API answer to a session", s, "GET visit-tasks/", {200}, no_store)
    hit("page to a session", s, "GET /customers/", {200}, no_store)
    hit("export to a session", sessions["admin"], "GET /training/compliance.xlsx", {200}, no_store)


def f16_schema(t, sup, sessions):
    """Every API answer seen in this run against the statuses the schema declares for it."""
    r = hit("schema, anonymous (public by decision)", client(), "GET schema/?format=json", {200})
    declared = []
    for path, ops in r.json()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")
        declared += [(pattern, m.upper(), set(o["responses"])) for m, o in ops.items() if "responses" in o]
    undeclared, seen = set(), SEEN[:-1]
    for method, path, status in seen:
        codes = next((c for p, m, c in declared if m == method and p.match(path)), None)
        if codes is not None and str(status) not in codes and "default" not in codes:
            undeclared.add((method, re.sub(r"/\d+/", "/{id}/", path), status))
    STATS["16"] |= {"sent": len(seen), "safe": len(seen) - len(undeclared), "unsafe": len(undeclared)}
    UNSAFE.extend(f"[16] status not in the schema: {m} {p} -> {s}" for m, p, s in sorted(undeclared))


def schemathesis_pass(token: str) -> str:
    out = LOGS / "schemathesis.txt"
    command = [str(VENV / "schemathesis"), "run", f"{BASE}{API}schema/?format=json", "--checks", "all"]
    command += ["-n", "5", "-H", f"Authorization: Token {token}", "-H", "X-Forwarded-Proto: https"]
    command += ["--seed", "1", "--no-color", "--max-time", "300", "--request-timeout", "30", "--workers", "1"]
    command += ["--rate-limit", "900/m", "--exclude-name", "DELETE /api/v1/auth/token/"]  # keeps its token
    try:
        result = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=420)  # noqa: S603
        text = result.stdout + result.stderr
    except subprocess.TimeoutExpired as exc:
        text = f"timed out after 420 s\n{exc.stdout or ''}"
    out.write_text(text)
    keep = re.compile(r"Selected:|Tested:|❌|⚠️|generated|failures|timed out")
    summary = list(dict.fromkeys(line.rstrip() for line in text.splitlines() if keep.search(line)))
    return "\n".join(summary[-14:]) + f"\n(full output: {out})"


def main() -> int:
    global BASE  # noqa: PLW0603 - set once, before any request
    processes = []
    try:
        setup_database()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        BASE = f"http://127.0.0.1:{port}"
        web = ["crm.wsgi", "--workers", "3", "--bind", f"127.0.0.1:{port}", "--timeout", "30"]
        for name, args in [("gunicorn", web), ("celery", ["-A", "crm", "worker", "-c", "2"])]:
            log = open(LOGS / f"{name}.log", "wb")  # noqa: SIM115 - open while the process lives
            command = [str(VENV / name), *args]
            options = {"cwd": ROOT, "env": ENV, "stdout": log, "stderr": log, "start_new_session": True}
            processes.append(subprocess.Popen(command, **options))  # noqa: S603
        wait_healthy(processes)
        users = ["admin", "director", "supervisor1", "vip1", "key1", "key2", "community1", "community2"]
        tokens = {name: log_in(name) for name in [*users, "billing"]}
        sessions = {name: log_in(name, True) for name in ("admin", "director", "supervisor1", "community1")}
    except Exception as exc:  # noqa: BLE001 - any setup failure ends the run with its reason
        stop(processes)
        print(f"setup failed: {exc!r} (logs in {LOGS})", file=sys.stderr)
        return 2
    try:
        sup = client(tokens["supervisor1"])
        order = [(1, f1_reparent), (13, f13_fit), (3, f3_nested), (4, f4_panel), (6, f6_encodings)]
        order += [(2, f2_empty_rows), (7, f7_evidence), (8, f8_numbers), (9, f9_visit_scope), (10, f10_dates)]
        order += [(14, f14_existence), (5, f5_formulas), (15, f15_private), (11, f11_tokens)]
        order += [(12, f12_lockout), (16, f16_schema)]
        for number, step in order:
            NOW["finding"] = finding = str(number)
            try:
                step(tokens, sup, sessions)
            except Exception as exc:  # noqa: BLE001 - a finding that could not be probed is reported
                STATS[finding]["unsafe"] += 1
                UNSAFE.append(f"[{finding}] probe aborted: {exc!r}")
        fuzz = schemathesis_pass(tokens["admin"])
    finally:
        stop(processes)
    logged_500 = (LOGS / "gunicorn.log").read_text(errors="replace").count("Internal Server Error")
    print(f"\n{'finding':<40}{'sent':>6}{'safe':>6}{'unsafe':>8}{'5xx':>5}")
    for number, title in enumerate(TITLES.split("|"), 1):
        s = STATS[str(number)]
        print(f"{number:>2} {title:<37}{s['sent']:>6}{s['safe']:>6}{s['unsafe']:>8}{s['5xx']:>5}")
    total = sum(s["sent"] for k, s in STATS.items() if k != "16") + 1  # + the schema fetch of row 16
    unsafe, errors = sum(s["unsafe"] for s in STATS.values()), sum(s["5xx"] for s in STATS.values())
    print("\nunsafe answers:" if UNSAFE else "\nno unsafe answers")
    for line in UNSAFE:
        print(" ", line)
    print(f"\nschemathesis (--checks all, --max-examples 5, 900/min):\n{fuzz}")
    print(f"'Internal Server Error' in the gunicorn log: {logged_500}; logs: {LOGS}; row 16 re-judges 1-15")
    print(f"\n{total} requests, {unsafe} unsafe, {errors} server errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
