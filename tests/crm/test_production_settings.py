"""crm/settings/production.py refuses to start without what production cannot run safely without:
the secret key, and REDIS_URL (the cache every web process shares: without it each process keeps its
own session cache, and a deactivated user's session would live on in the others)."""

from tests.crm.production import run_with_production_settings

KEY = "k" * 48


def _start(**environment):
    """The production settings loaded with only these variables of ours; prints the cache backend."""
    return run_with_production_settings("print(settings.CACHES['default']['BACKEND'])", **environment)


def test_production_refuses_to_start_without_redis_url():
    # Given a secret key but no REDIS_URL; when the production settings load
    started = _start(DJANGO_SECRET_KEY=KEY)
    # Then they refuse, naming the variable
    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr
    assert "REDIS_URL" in started.stderr


def test_production_starts_with_a_secret_key_and_redis_url_and_shares_the_cache_in_redis():
    # Given both; when the production settings load
    started = _start(DJANGO_SECRET_KEY=KEY, REDIS_URL="redis://127.0.0.1:6379/0")
    # Then they do, with the cache in Redis
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "crm.common.cache.TolerantRedisCache"


def test_production_still_refuses_to_start_without_the_secret_key():
    started = _start(REDIS_URL="redis://127.0.0.1:6379/0")
    assert started.returncode != 0
    assert "DJANGO_SECRET_KEY" in started.stderr
