"""Settings for the test suite: PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set (CI),
SQLite and the filesystem broker otherwise."""

import os
from urllib.parse import urlsplit, urlunsplit

from crm.settings import base as _base
from crm.settings.base import *  # noqa: F403
from crm.settings.base import REDIS_URL, REST_FRAMEWORK, SECRET_KEY

SECRET_KEY = SECRET_KEY or "test-only-not-secret"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Throttling is tested on its own; everywhere else it would only make tests order-dependent.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "anon": "10000/min",
        "user": "10000/min",
        "auth": "10000/min",
        "imports": "10000/min",
    },
}

# Tasks run in-process unless a test starts a real worker (tests/crm/test_worker.py).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
WHITENOISE_AUTOREFRESH = True  # no collectstatic in tests

# pytest-xdist (.ci/run runs the suite with -n): each worker process gets a Redis database of its
# own, REDIS_URL's number plus the worker's (gw0 keeps it, gw1 the next, ...), so that no worker's
# cache.clear() (a FLUSHDB), Celery queue, broadcast or result reaches another's. The URL goes back
# into the environment, marked as shifted, for the processes a test starts: they load these settings
# again with PYTEST_XDIST_WORKER inherited and keep the REDIS_URL they are given (the fault tests'
# workers get their own), shifting nothing.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL and _XDIST_WORKER.startswith("gw") and "CRM_REDIS_URL_PER_WORKER" not in os.environ:
    _url = urlsplit(REDIS_URL)
    _db = int(_url.path.strip("/") or 0) + int(_XDIST_WORKER[2:])
    REDIS_URL = urlunsplit(_url._replace(path=f"/{_db}"))
    CELERY_BROKER_URL = REDIS_URL
    CACHES = {"default": {**_base.CACHES["default"], "LOCATION": REDIS_URL}}
    os.environ["REDIS_URL"] = os.environ["CRM_REDIS_URL_PER_WORKER"] = REDIS_URL
