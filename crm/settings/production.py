"""Production settings: secure by default. Refuses to start without DJANGO_SECRET_KEY or REDIS_URL."""

from django.core.exceptions import ImproperlyConfigured

from crm.settings.base import *  # noqa: F403
from crm.settings.base import REDIS_URL, SECRET_KEY, env

DEBUG = False
if not SECRET_KEY or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to a random string of at least 32 characters.")
# Without Redis every web process would keep its own session cache (crm/settings/base.py), and a
# session ended in one process, as deactivating a user ends it, would live on in the others.
if not REDIS_URL:
    raise ImproperlyConfigured(
        "REDIS_URL must be set (e.g. redis://redis:6379/0): the broker and the web processes' shared cache."
    )

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
