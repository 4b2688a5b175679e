"""Settings for `make run` on a laptop: debug on, SQLite and the filesystem broker unless the
environment names PostgreSQL and Redis."""

from crm.settings.base import *  # noqa: F403
from crm.settings.base import SECRET_KEY, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# A fixed development key: never used by production settings, which refuse to start without one.
SECRET_KEY = SECRET_KEY or "local-development-only-not-secret"  # noqa: S105
