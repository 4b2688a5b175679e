"""Settings of `make bench`: production's, with what a benchmark on one machine over plain HTTP needs.

- The bench urlconf (bench/urls.py): the product's URLs plus the floor views, which the product
  never serves.
- Plain HTTP on 127.0.0.1: no HTTPS redirect, no HSTS, cookies not marked secure (the client would
  not send them back over HTTP).
- No rate limits: the load generator is one client asking far more than 1,200 requests a minute.
- No chained jobs: each step is measured on its own (consumption landing would queue the monthly
  reclassification, which has its own row in the table); tasks go to an in-memory broker, or to
  BENCH_BROKER_URL (bench/scale.py's workers).
- Redis only if REDIS_URL is set: production refuses to start without it, so without one an
  address is given that nothing uses (the broker is in memory, each process keeps its own cache and
  sessions fall back to the database), as the benchmark ran before production required Redis.
"""

import os
import warnings

_UNUSED_REDIS = "redis://unused.invalid:6379/0"  # inherited as it is by the processes run.py starts
_NO_REDIS = os.environ.get("REDIS_URL", "") in ("", _UNUSED_REDIS)
if _NO_REDIS:
    os.environ["REDIS_URL"] = _UNUSED_REDIS

from crm.settings.production import *  # noqa: E402, F403
from crm.settings.production import CRM_HOOKS, REST_FRAMEWORK  # noqa: E402

ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {name: "1000000/min" for name in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]},
}
CRM_HOOKS = dict.fromkeys(CRM_HOOKS)  # every hook known, none run (crm/common/hooks.py)
# bench/scale.py's real workers share a Redis database with it (BENCH_BROKER_URL)
CELERY_BROKER_URL = os.environ.get("BENCH_BROKER_URL", "memory://")
if _NO_REDIS:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
# No collectstatic for a benchmark: WhiteNoise would warn about the missing directory in every worker.
warnings.filterwarnings("ignore", message="No directory at")
