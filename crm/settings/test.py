"""Settings for the test suite: PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set (CI),
SQLite and the filesystem broker otherwise."""

from crm.settings.base import *  # noqa: F403
from crm.settings.base import REST_FRAMEWORK, SECRET_KEY

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
