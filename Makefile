# The two commands of the README: `make run` and `make test`. Each sets itself up on a fresh machine
# with Python 3.11: virtual environment, install from the lock, migrate.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The lock: pyproject.toml keeps the ranges, `make lock` pins them with hashes for Python 3.11 on
# Linux into requirements.txt (runtime: the image) and requirements-dev.txt (runtime and dev: make
# install and CI), so the image holds only versions CI ran. The stamp carries a hash of the dev lock
# and pyproject.toml, so a change of either reinstalls by itself.
LOCK := requirements-dev.txt
STAMP := $(VENV)/.installed-$(shell cat $(LOCK) pyproject.toml | sha1sum | cut -c1-12)
PORT ?= 8000

.PHONY: install lock run test lint format migrations-check check-deploy messages seed bench bench-reclassify bench-visits bench-sla bench-service bench-webhooks bench-forecasts bench-notices bench-scale clean

# --no-deps for the project itself: every dependency comes from the lock, none from the ranges.
$(STAMP): $(LOCK) pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

## lock: pin pyproject.toml's ranges again. uv rather than pip-tools: `uv pip compile` resolves for
## a target Python and platform whatever the machine it runs on (--python-version, --python-platform),
## takes each file's hashes from the index's own listing instead of downloading every file to hash
## it, and ignores this machine's pip configuration (local wheel folders), so the hashes are PyPI's.
## Versions already pinned are kept unless a range excludes them; LOCK_ARGS=--upgrade takes the
## newest allowed (or --upgrade-package NAME). The runtime lock is constrained by the dev lock, so
## the two agree on every version they share.
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --quiet --python-version 3.11 --python-platform linux \
	--generate-hashes --custom-compile-command "make lock" $(LOCK_ARGS)
lock: install
	$(UV_COMPILE) --extra dev -o requirements-dev.txt
	$(UV_COMPILE) -c requirements-dev.txt -o requirements.txt

## run: the whole product on SQLite and the filesystem broker, with demo data, worker and beat:
## honcho runs Procfile.local (web, worker, beat and the banner with the address and the demo logins),
## prefixes each line with its process, and stops them all on Ctrl-C or when one of them exits.
## The virtual environment comes first on PATH, so the Procfile's `python` is this one; `--env
## /dev/null` because the settings read .env themselves, below the environment (honcho's own reading
## would put the file above it). honcho exits 130 when Ctrl-C stopped it: the normal end, not an error.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty
	PATH="$(CURDIR)/$(BIN):$$PATH" PYTHONUNBUFFERED=1 RUN_PORT=$(PORT) \
		$(BIN)/honcho --env /dev/null --procfile Procfile.local start || [ $$? -eq 130 ]

## test: the full suite (PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set)
test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrations-check: install
	DJANGO_SETTINGS_MODULE=crm.settings.test $(BIN)/python manage.py makemigrations --check --dry-run

check-deploy: install
	DJANGO_SETTINGS_MODULE=crm.settings.production DJANGO_SECRET_KEY=$$(head -c 48 /dev/urandom | base64) \
		REDIS_URL=redis://127.0.0.1:6379/0 DJANGO_ALLOWED_HOSTS=crm.example.com \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

## messages: recompile the translations after editing locale/*/LC_MESSAGES/django.po
messages: install
	$(BIN)/python manage.py compilemessages --ignore=.venv

## seed: throw the local data away and build the demo county again
seed: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py flush --noinput
	$(BIN)/python manage.py seed_demo

## bench-reclassify: the reclassification job against one SQL statement on PostgreSQL, 1,000,000
## customers x 12 months (a database of its own; BENCH_ARGS="--customers 100000" for a quick one)
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/crm_bench
bench-reclassify: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/reclassify.py $(BENCH_ARGS)

## bench-visits: a day's visit task generation against one INSERT ... SELECT ... ON CONFLICT DO NOTHING
## on PostgreSQL, 1,000,000 customers plus territories; the second run must create nothing
BENCH_VISITS_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/crm_bench_visits
bench-visits: install
	DATABASE_URL=$(BENCH_VISITS_DATABASE_URL) $(BIN)/python bench/visits.py $(BENCH_ARGS)

## bench-sla: the SLA job over 100,000 open requests (400,000 closed beside them) against one UPDATE per
## table, and the sla-board/ API and the board page against a values() floor, on PostgreSQL (a database
## of its own); BENCH_SLA_ARGS="--requests 5000 --closed 20000" for a quick one
BENCH_SLA_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/crm_bench_sla
bench-sla: install
	DATABASE_URL=$(BENCH_SLA_DATABASE_URL) $(BIN)/python bench/sla.py $(BENCH_SLA_ARGS)

## bench-service: the request list API (manager, staff, administrator) and the department queue page
## against a values() floor of the same rows, and 95598 intake of 10,000 tickets in batches of 500
## (call-centre/tickets/batch/), on bench/sla.py's data set of requests given to 1,000,000 customers.
## BENCH_SERVICE_ARGS="--requests 5000 --closed 20000 --customers 20000 --tickets 1000" for a quick one;
## bench/sla.py --skip-build on the same database measures the SLA job and the board on that data.
BENCH_SERVICE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/crm_bench_service
bench-service: install
	DATABASE_URL=$(BENCH_SERVICE_DATABASE_URL) $(BIN)/python bench/service.py $(BENCH_SERVICE_ARGS)

## bench-webhooks: a reclassification changing 30,000 tiers (its events in one statement per chunk),
## their fan-out to one endpoint, and delivery to a receiver on 127.0.0.1, on PostgreSQL
BENCH_WEBHOOKS_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/crm_bench_webhooks
bench-webhooks: install
	DATABASE_URL=$(BENCH_WEBHOOKS_DATABASE_URL) $(BIN)/python bench/webhooks.py $(BENCH_WEBHOOKS_ARGS)

## bench-forecasts: the statistical baseline job (seasonal naive for all, a fitted model for VIP and key
## accounts) against the same work done in one statement and one frame, 1,000,000 customers x 24 months
BENCH_FORECASTS_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/crm_bench_forecasts
BENCH_FORECASTS_ARGS ?= --customers 1000000
bench-forecasts: install
	DATABASE_URL=$(BENCH_FORECASTS_DATABASE_URL) $(BIN)/python bench/forecasts.py $(BENCH_FORECASTS_ARGS)

## bench-notices: publishing a feeder outage affecting 50,000 customers against one INSERT ... SELECT,
## the deliveries page at two sizes, and sending through a real gateway process at its rate limit
BENCH_NOTICES_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/crm_bench_notices
BENCH_NOTICES_ARGS ?= --customers 50000
bench-notices: install
	DATABASE_URL=$(BENCH_NOTICES_DATABASE_URL) $(BIN)/python bench/notices.py $(BENCH_NOTICES_ARGS)

## bench-scale: the cost curve, per customer, at 100,000, 1,000,000 and 3,000,000 customers x 24 months:
## reclassification on 1 and on 2 real workers, the import of a month, list API and customer page p95
## (a database of its own, Redis for the workers; BENCH_SCALE_SIZES=100000,300000 for a quick one)
BENCH_SCALE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/crm_bench_scale
bench-scale: install
	DATABASE_URL=$(BENCH_SCALE_DATABASE_URL) REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} $(BIN)/python bench/scale.py

## bench: every page and endpoint at 1,000,000 customers, each against a floor measured in the same run
## (list API under load from a second process, pages, consumption import, reclassification, visit
## generation); one table, JSON in bench/results/. BENCH_ARGS="--customers 20000" for a quick one,
## "--skip-build" to reuse the data of the previous run
bench: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/run.py $(BENCH_ARGS)
	DATABASE_URL=$(BENCH_SLA_DATABASE_URL) $(BIN)/python bench/sla.py $(BENCH_SLA_ARGS)
	DATABASE_URL=$(BENCH_SERVICE_DATABASE_URL) $(BIN)/python bench/service.py $(BENCH_SERVICE_ARGS)
	DATABASE_URL=$(BENCH_WEBHOOKS_DATABASE_URL) $(BIN)/python bench/webhooks.py $(BENCH_WEBHOOKS_ARGS)
	DATABASE_URL=$(BENCH_FORECASTS_DATABASE_URL) $(BIN)/python bench/forecasts.py $(BENCH_FORECASTS_ARGS)
	DATABASE_URL=$(BENCH_NOTICES_DATABASE_URL) $(BIN)/python bench/notices.py $(BENCH_NOTICES_ARGS)

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache

## security: bandit on the apps' code, sub-packages included (configured in pyproject.toml; reviewed
## findings carry `# nosec BXXX` and the reason), and pip-audit --strict on the lock, the versions CI
## and the image install, not on whatever the environment holds. Where no vulnerability service of
## pip-audit's can be reached it says "dependency audit NOT performed" and why, and passes; a known
## vulnerability, or any other error, fails (.ci/audit_dependencies.py)
.PHONY: security
security: install
	$(BIN)/bandit -q -c pyproject.toml -r crm customers managers visits appraisal training service notices forecasts integrations
	$(BIN)/python .ci/audit_dependencies.py $(LOCK)
