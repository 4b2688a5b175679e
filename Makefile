# The two commands of the README: `make run` and `make test`. Each sets itself up on a fresh machine
# with Python 3.11: virtual environment, install, migrate.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The stamp carries a hash of pyproject.toml, so a change of dependencies reinstalls by itself.
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
PORT ?= 8000

.PHONY: install run test lint format migrations-check check-deploy messages seed bench bench-reclassify bench-visits clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip setuptools
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

## run: the whole product on SQLite and the filesystem broker, with demo data, worker and beat
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py run_local --port $(PORT)

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
		DJANGO_ALLOWED_HOSTS=crm.example.com $(BIN)/python manage.py check --deploy --fail-level WARNING

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

## bench: every page and endpoint at 1,000,000 customers, each against a floor measured in the same run
## (list API under load from a second process, pages, consumption import, reclassification, visit
## generation); one table, JSON in bench/results/. BENCH_ARGS="--customers 20000" for a quick one,
## "--skip-build" to reuse the data of the previous run
bench: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache

## security: bandit on the apps' code (configured in pyproject.toml; reviewed findings carry
## `# nosec BXXX` and the reason) and pip-audit on the installed environment, with PyPI's project JSON
## where pip-audit's services cannot be reached; fails when nothing could be audited
## (.ci/audit_dependencies.py)
.PHONY: security
security: install
	$(BIN)/bandit -q -c pyproject.toml -r crm customers managers visits appraisal training
	$(BIN)/python .ci/audit_dependencies.py
