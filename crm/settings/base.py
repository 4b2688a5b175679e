"""Settings shared by every environment. Everything that differs between machines comes from the
environment (see README, "Configuration", and .env.example)."""

import datetime as dt
import os
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE
from django.utils.translation import gettext_lazy as _

from crm.settings.storage import default_storage

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc as static files: the docs work offline
    "django_celery_beat",
    "axes",
    "csp",
    "simple_history",
    "crm.common",
    "crm.accounts",
    "crm.demo",
    "customers",
    "managers",
    "visits",
    "appraisal",
    "training",
    "service",
    "notices",
    "forecasts",
    "integrations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # after WhiteNoise (static files stay cacheable), around the rest so it sees the final answer
    "crm.common.middleware.PrivateCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "crm.common.middleware.LocaleMiddleware",
    "crm.common.middleware.ApiNotFoundMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "crm.common.middleware.NotFoundPageMiddleware",  # the product's 404 page with DEBUG on too
    # the admin's changes are attributed to the signed-in user; services pass `by` themselves
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out log-in into the lockout page
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "crm.common.context.navigation",
            ],
        },
    },
]

# SQLite is the embedded default so that `make run` needs nothing installed; production and CI set
# DATABASE_URL to PostgreSQL. WAL and IMMEDIATE transactions let the web process and the Celery
# worker write the same SQLite file without "database is locked" errors.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'crm.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Behind PgBouncer in transaction mode (docs/scale.md, "Connection pooling") a server-side
    # cursor (QuerySet.iterator()) would outlive the transaction its server connection served.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
        "DATABASE_TRANSACTION_POOLING", default=False
    )

# --- reads off the primary (docs/scale.md; crm/common/replica.py) --------------------------------
# With DATABASE_REPLICA_URL (a streaming replica of DATABASE_URL, ideally a read-only role), the
# list, report and export views that crm/common/replica.py names read from it, except for a user who
# wrote within the last DATABASE_REPLICA_PIN_SECONDS (keep it above the replica's lag). Unset:
# one database, no router. The replica gets no migrations, and in tests it mirrors the test
# database instead of getting one of its own (tests/crm/test_replica.py points it at a second one).
DATABASE_REPLICA_PIN_SECONDS = env.int("DATABASE_REPLICA_PIN_SECONDS", default=15)
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **env.db("DATABASE_REPLICA_URL"),
        "CONN_MAX_AGE": DATABASES["default"].get("CONN_MAX_AGE", 0),
        "CONN_HEALTH_CHECKS": DATABASES["default"].get("CONN_HEALTH_CHECKS", False),
        "DISABLE_SERVER_SIDE_CURSORS": DATABASES["default"].get("DISABLE_SERVER_SIDE_CURSORS", False),
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_ROUTERS = ["crm.common.replica.ReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "crm.common.replica.PinAfterWriteMiddleware",
    )
# --- end of reads off the primary ----------------------------------------------------------------

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Brute-force lockout (django-axes): a username tried from one address is locked after this many
# failures for the cool-off time, on the log-in page, the admin and the token endpoint alike.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "crm.accounts.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# ... and an address is locked for every username after this many failures within the cool-off,
# whatever the usernames (password spraying): ours, not axes', kept by crm.accounts.security.
# Everyone behind one NAT address shares this count; raise it there rather than turn it off.
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=30)
AXES_HANDLER = "crm.accounts.security.LockoutHandler"
# An attempt refused during a lock-out is not counted: counting it restarts the cool-off, so the
# owner trying their right password, or an attacker's one guess every few minutes, would keep the
# account locked for good.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The address is REMOTE_ADDR: behind a proxy, set the proxy to pass the client address there (a
# forwarded header the client can write itself would let it dodge the lockout).
AXES_CLIENT_IP_CALLABLE = "crm.accounts.security.client_address"
AXES_USERNAME_CALLABLE = "crm.accounts.security.attempted_username"

# Content security policy (django-csp): only this site's own scripts and styles, inline ones only
# with the request's nonce; no frames, plugins or foreign form targets. The API docs page loads Swagger
# UI from this site's static files (drf-spectacular-sidecar), its inline script with the nonce
# (templates/drf_spectacular/swagger_ui.html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", NONCE],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
# A form refused for its CSRF token gets the product's page, not Django's English one.
CSRF_FAILURE_VIEW = "crm.common.views.csrf_failure"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Simplified Chinese first; English second.
LANGUAGE_CODE = "zh-hans"
# The language switch's cookie: no script reads it (crm/static), and other sites' requests need
# not carry it. Sent only over HTTPS in production (crm/settings/production.py).
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("DJANGO_TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "crm" / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Uploads (visit photos): MEDIA_ROOT, or an S3-compatible bucket when DJANGO_STORAGE_S3_BUCKET is set
# (crm/settings/storage.py names the other DJANGO_STORAGE_S3_* variables).
STORAGES = {
    "default": default_storage(os.environ),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Uploads above this size are refused before they are read into memory (imports stream from disk).
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
IMPORT_MAX_FILE_BYTES = env.int("IMPORT_MAX_FILE_BYTES", default=60 * 1024 * 1024)
# Files with at most this many data rows are imported inside the request; larger ones go to the
# worker and the answer is a job to poll.
IMPORT_INLINE_MAX_ROWS = env.int("IMPORT_INLINE_MAX_ROWS", default=2000)
# A file of more rows than this (blank ones count) is refused: far above any county's export. The
# request reads only the first rows of a file (customers/imports/jobs.py, inline_read_rows); the
# worker counts the rest while streaming and stops here.
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=1_000_000)
# The same file (the same bytes) imported again by the same user within this many minutes is shown
# with the earlier import and asked about (API: 409 unless confirm_duplicate), not run twice.
IMPORT_DUPLICATE_MINUTES = env.int("IMPORT_DUPLICATE_MINUTES", default=30)

# An API token authenticates for this many days after it was issued; then its client logs in
# again at auth/token/ for a new one (crm/accounts/tokens.py).
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=90)
# A list of LARGE_COUNT_ROWS rows or more keeps its count this long (crm/common/paging.py): paging
# through millions of customers counts them once. 0: always count.
LARGE_COUNT_ROWS = env.int("LARGE_COUNT_ROWS", default=10000)
LARGE_COUNT_CACHE_SECONDS = env.int("LARGE_COUNT_CACHE_SECONDS", default=60)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm.accounts.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["crm.common.permissions.ModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "crm.common.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # DRF's JSON parser, but a body nested too deeply is a 400, not a RecursionError's 500
    "DEFAULT_PARSER_CLASSES": [
        "crm.common.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "crm.common.filters.FilterBackend",  # django-filter's, with the semantics of crm.common.filters
        # ours: a refused term (a NUL character) answers {"search": [...]}, the API's error shape,
        # even on endpoints that search nothing
        "crm.common.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "crm.common.schema.AutoSchema",  # drf-spectacular's, told more (see there)
    "EXCEPTION_HANDLER": "crm.common.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_THROTTLE_ANON", default="60/min"),
        "user": env("API_THROTTLE_USER", default="1200/min"),
        "auth": env("API_THROTTLE_AUTH", default="20/min"),
        "imports": env("API_THROTTLE_IMPORTS", default="30/hour"),
    },
    # date.isoformat(): YYYY-MM-DD with four digits of year whatever the year (strftime's %Y wrote
    # the year 471 as "471"); crm.common.fields.DateField bounds the years the API takes
    "DATE_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": False,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Power supply CRM API",
    "DESCRIPTION": "Tiered customers, account managers, visits, appraisal and training. See /api/v1/docs/.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # from drf-spectacular-sidecar's static files, not a CDN: the docs render without internet
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "crm.common.errors.add_error_responses",  # the api.md error shapes on every operation
        "crm.common.schema.document_json_bodies",  # JSON in (api.md), not the browsable API's forms
    ],
    # Choices used by more than one field get one name each in the schema; a new colliding enum
    # makes tests/crm/test_schema.py fail until it is named here.
    "ENUM_NAME_OVERRIDES": {
        "TierEnum": "customers.models.Tier",
        "ImportanceEnum": "customers.models.Importance",
        "CustomerCategoryEnum": "customers.models.Category",
        "CustomerStatusEnum": "customers.models.Status",
        "ImportJobStatusEnum": "customers.models.ImportJob.State",
        "CourseCategoryEnum": "training.models.Category",
        "ManagerRoleEnum": "managers.models.Role",
        "ClassificationRunStatusEnum": "customers.models.ClassificationRun.State",
        "ServiceStatusEnum": ["ok", "down"],
        "ImportJobKindEnum": "customers.models.ImportJob.Kind",
        "VisitTaskKindEnum": "visits.models.Kind",
        "VisitTaskStatusEnum": "visits.models.TaskStatus",
        "WebhookDeliveryStatusEnum": "integrations.models.DeliveryStatus",
        "FollowUpStatusEnum": "visits.models.FollowUpStatus",
        "AppraisalStatusEnum": "appraisal.models.AppraisalStatus",  # a cycle's statuses are the same
        "RaterKindEnum": "appraisal.models.RaterKind",
        "ServiceRequestKindEnum": "service.models.Kind",
        "ServiceRequestSubtypeEnum": "service.models.Subtype",
        "ServiceClockUnitEnum": "service.models.Unit",
        "ServiceRequestStatusEnum": "service.models.RequestStatus",
        "ServiceStageStatusEnum": "service.models.StageStatus",
        "SlaStateEnum": "service.models.SlaState",
        "ServiceRequestSourceEnum": "service.models.Source",
        "CalendarYearSourceEnum": "service.models.CalendarYear.Source",
        # a template stage is done by a kind of department or by the request's owner
        "TemplateStageDepartmentKindEnum": "service.api.TEMPLATE_DEPARTMENT_KINDS",
        "OutageNoticeKindEnum": "notices.models.NoticeKind",
        "OutageNoticeStatusEnum": "notices.models.NoticeStatus",
        "NoticeDeliveryStatusEnum": "notices.models.DeliveryStatus",
        "NoticeChannelEnum": "notices.models.Channel",
    },
}

# Celery. Without REDIS_URL the broker is kombu's filesystem transport under var/, so `make run`
# runs real worker and beat processes with nothing else installed.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # An unacknowledged message (its worker died) comes back after this many seconds; the runs' sweep
    # resumes the run long before (crm/jobs.py), and the late message is then ignored.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("BROKER_VISIBILITY_TIMEOUT", default=3600)
    }
else:
    _broker_dir = VAR_DIR / "broker"
    _broker_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
# Sessions are read from the cache and written through to the database, so a page pays no query for
# its session and a session survives a cache restart. The cache must be one that every web process
# shares (Redis when REDIS_URL is set), or a session ended in one process would live on in the cache
# of another; without Redis `make run` serves the web from one process and the local cache is shared.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
if REDIS_URL:
    CACHES = {
        "default": {
            # An empty cache while Redis is away, not a 500 on every page (crm/common/cache.py).
            "BACKEND": "crm.common.cache.TolerantRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "crm",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
CELERY_TASK_IGNORE_RESULT = True  # every job records its run in the database instead
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker that loses the broker reconnects for as long as it takes, at start-up too (with the pin
# of crm/common/broker.py a Redis restart is such a loss, not a crash).
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# The runs' sweep (crm/jobs.py): a step recorded with a write and not run is run after this many
# seconds; a run or chain step no live worker holds is sent again after CRM_SWEEP_GRACE_SECONDS when
# every worker alive by its heartbeat (written every CRM_WORKER_HEARTBEAT_SECONDS, alive while at
# most CRM_WORKER_FRESH_SECONDS old) answered the sweep's broadcast, else after 10 minutes.
CRM_HOOK_GRACE_SECONDS = env.int("CRM_HOOK_GRACE_SECONDS", default=60)
CRM_SWEEP_GRACE_SECONDS = env.int("CRM_SWEEP_GRACE_SECONDS", default=60)
CRM_WORKER_HEARTBEAT_SECONDS = env.int("CRM_WORKER_HEARTBEAT_SECONDS", default=20)
CRM_WORKER_FRESH_SECONDS = env.int("CRM_WORKER_FRESH_SECONDS", default=60)
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TIMEZONE = TIME_ZONE
# A run's chunks (crm/common/fanout.py: hundreds of messages at once for a province's run) go to this
# queue. By default the one queue every worker consumes; named apart (CHUNK_QUEUE=chunks), the other
# tasks (hooks, texts, webhooks) are not queued behind them: every worker consumes both queues,
# taking from each in turn, and workers started with `-Q chunks` take chunks only (docs/scale.md).
CHUNK_QUEUE = env("CHUNK_QUEUE", default="celery")
CELERY_TASK_ROUTES = {"crm.common.fanout.run_chunk_task": {"queue": CHUNK_QUEUE}}
# django_celery_beat's DatabaseScheduler, whose crontab sends each name their slot so a job runs once
# per slot, and which sends once, on its return, a slot missed within this many hours while beat was
# down (crm/common/beat.py).
CELERY_BEAT_SCHEDULER = "crm.common.beat:SlotScheduler"
BEAT_CATCH_UP_HOURS = env.int("BEAT_CATCH_UP_HOURS", default=24)
# Each chunk of a background job waits at most this long for a lock and runs each statement at most
# this long (PostgreSQL; crm/common/chunks.py); a run that has not moved for longer than a chunk's
# statements may take is shown as stalled on its page and by /api/v1/health/.
CHUNK_LOCK_TIMEOUT_MS = env.int("CHUNK_LOCK_TIMEOUT_MS", default=10_000)
CHUNK_STATEMENT_TIMEOUT_MS = env.int("CHUNK_STATEMENT_TIMEOUT_MS", default=60_000)
RUN_STALLED_AFTER_SECONDS = env.int(
    "RUN_STALLED_AFTER_SECONDS", default=2 * CHUNK_STATEMENT_TIMEOUT_MS // 1000
)
# Reclassification: monthly on this day (after the month's consumption normally lands), in chunks of
# this many customers, each chunk one short transaction.
RECLASSIFY_DAY_OF_MONTH = env.int("RECLASSIFY_DAY_OF_MONTH", default=5)
RECLASSIFY_HOUR = env.int("RECLASSIFY_HOUR", default=2)
RECLASSIFY_CHUNK_SIZE = env.int("RECLASSIFY_CHUNK_SIZE", default=20000)
# Outbound webhooks (integration.md): the waits before each retry, in seconds (about three days in
# all; tests shorten it), the answer's timeout, how long a claimed delivery is held before another
# worker may take it (a worker that died), and whether endpoint URLs may resolve to private,
# loopback or link-local addresses (tests, or a closed company network).
WEBHOOKS_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=15.0)
WEBHOOKS_LEASE_SECONDS = env.int("WEBHOOKS_LEASE_SECONDS", default=120)
WEBHOOKS_ALLOW_PRIVATE_URLS = env.bool("WEBHOOKS_ALLOW_PRIVATE_URLS", default=False)
WEBHOOKS_CONCURRENCY = env.int("WEBHOOKS_CONCURRENCY", default=8)
WEBHOOKS_TASK_SECONDS = env.float("WEBHOOKS_TASK_SECONDS", default=4.0)
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "crm.common.tasks.heartbeat_task", "schedule": 60.0},
    # Runs left queued or running when Redis lost its queue or a worker died: sent again.
    "sweep-runs": {"task": "crm.jobs.sweep_runs_task", "schedule": 60.0},
    "reclassify-monthly": {
        "task": "customers.tiering.tasks.start_scheduled_reclassification_task",
        "schedule": crontab(minute=0, hour=RECLASSIFY_HOUR, day_of_month=RECLASSIFY_DAY_OF_MONTH),
    },
    # Consumption partitions (customers/partitions.py): this year's and the next two made ahead.
    "consumption-partitions-monthly": {
        "task": "customers.tasks.ensure_consumption_partitions_task",
        "schedule": crontab(minute=30, hour=1, day_of_month=1),
    },
    "reconcile-assignments-hourly": {
        "task": "managers.tasks.reconcile_assignments_task",
        "schedule": crontab(minute=15),
    },
    # Baselines of every customer (forecasts): also a step after a consumption-triggered
    # reclassification (crm/jobs.py); monthly, an hour after the scheduled reclassification.
    "forecasts-baselines-monthly": {
        "task": "forecasts.tasks.start_scheduled_baselines_task",
        "schedule": crontab(minute=0, hour=(RECLASSIFY_HOUR + 1) % 24, day_of_month=RECLASSIFY_DAY_OF_MONTH),
    },
    "visits-mark-overdue-daily": {
        "task": "visits.tasks.mark_overdue_visits_task",
        "schedule": crontab(minute=5, hour=0),
    },
    "visits-generate-daily": {
        "task": "visits.tasks.generate_visit_tasks_task",
        "schedule": crontab(minute=20, hour=0),
    },
    "visits-care-daily": {
        "task": "visits.tasks.detect_care_visits_task",
        "schedule": crontab(minute=40, hour=0),
    },
    "visits-reminders-daily": {
        "task": "visits.tasks.send_visit_reminders_task",
        "schedule": crontab(minute=0, hour=7),
    },
    "visits-overdue-digest-daily": {
        "task": "visits.tasks.send_overdue_digest_task",
        "schedule": crontab(minute=10, hour=7),
    },
    # SLA: clocks that crossed 80 % or their due instant become warning or breached and their people
    # are told; often, as a fault repair's arrival limit is 45 minutes (it reads only those clocks).
    "service-sla-refresh": {
        "task": "service.tasks.sla_refresh_task",
        "schedule": float(env.int("SLA_REFRESH_SECONDS", default=120)),
    },
    # Outage notices: the reminder the day before the start, in the morning (once per slot); those
    # whose window ended are done; call
    # tasks of important customers not acknowledged 24 hours ahead go to the supervisor (idempotent,
    # so an interval); text messages left queued 15 minutes by a lost task or a dead worker are sent.
    "notices-reminders-daily": {
        "task": "notices.tasks.send_reminders_task",
        "schedule": crontab(minute=30, hour=9),
    },
    "notices-escalate": {"task": "notices.tasks.escalate_unacknowledged_task", "schedule": 600.0},
    "notices-finish": {"task": "notices.tasks.finish_ended_notices_task", "schedule": 600.0},
    "notices-send-queued": {"task": "notices.tasks.send_queued_sms_task", "schedule": 300.0},
    # Webhooks: fan the outbox out and deliver what is due; often, as the first retry is after 5 s.
    "webhooks-deliver": {
        "task": "integrations.tasks.deliver_webhooks_task",
        "schedule": float(env.int("WEBHOOKS_BEAT_SECONDS", default=5)),
    },
}
# Visits: generation chunk (customers per statement), care-visit thresholds (percent drop month on
# month AND year on year, strictly more than), days a care or welcome visit is due in, and days
# before the due date a manager is reminded.
# Forecasts: customers per chunk of a baseline run (one transaction each: the seasonal naive in SQL
# and the model of the chunk's VIP and key accounts).
FORECAST_CHUNK_SIZE = env.int("FORECAST_CHUNK_SIZE", default=20000)
VISIT_GENERATION_CHUNK_SIZE = env.int("VISIT_GENERATION_CHUNK_SIZE", default=100000)
VISIT_CARE_MOM_DROP_PCT = env.int("VISIT_CARE_MOM_DROP_PCT", default=20)
VISIT_CARE_YOY_DROP_PCT = env.int("VISIT_CARE_YOY_DROP_PCT", default=20)
VISIT_CARE_DUE_DAYS = env.int("VISIT_CARE_DUE_DAYS", default=7)
VISIT_WELCOME_DUE_DAYS = env.int("VISIT_WELCOME_DUE_DAYS", default=14)
VISIT_REMIND_DAYS_BEFORE = env.int("VISIT_REMIND_DAYS_BEFORE", default=3)
VISIT_REPORT_MAX_BACKDATE_DAYS = env.int("VISIT_REPORT_MAX_BACKDATE_DAYS", default=7)

EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="crm@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}

# The parts of a lower app's page that the apps above it hold, assembled in crm/pages.py
# (crm/common/pages.py).
# The SMS gateway (crm/common/sms.py): the console for `make run`, the HTTP gateway in production.
SMS_BACKEND = env("SMS_BACKEND", default="crm.common.sms.ConsoleBackend")
SMS_GATEWAY_URL = env("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_KEY = env("SMS_GATEWAY_KEY", default="")
SMS_GATEWAY_TIMEOUT = env.float("SMS_GATEWAY_TIMEOUT", default=5.0)
SMS_RATE_PER_SECOND = env.float("SMS_RATE_PER_SECOND", default=50.0)

CRM_PAGE_PARTS = {
    "customer_detail": "crm.pages.customer_detail",
    "manager_detail": "crm.pages.manager_detail",
    "visits_team": "crm.pages.visits_team",
    "visit_reported": "crm.pages.visit_reported",
    "home": "crm.pages.home",
}

# Hooks by which a lower app asks for the next step after its transaction commits (crm/common/hooks.py).
CRM_HOOKS = {
    "portfolios_changed": "crm.jobs.portfolios_changed",
    "consumption_landed": "crm.jobs.consumption_landed",
    "classification_queued": "crm.jobs.classification_queued",
    "tier_changed": "crm.jobs.tier_changed",
    "manager_changed": "crm.jobs.manager_changed",
    "follow_ups_raised": "crm.jobs.follow_ups_raised",
}
