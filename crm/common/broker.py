"""A pin around kombu's Redis transport, so that a Redis restart never stops a worker.

What happens without it (kombu 5.6 and 5.7, redis-py 6 to 8, reproduced on a private Redis): a
prefork worker with `acks_late` loses Redis while a task is unacknowledged. The consumer closes its
connection, which sets the transport's `client` to None. A channel of that closed connection then
acknowledges the finished task, or restores its unacknowledged messages on close; to do so it builds
a connection pool from `connection.client` and raises AttributeError ('hostname'). That error is not
one of the transport's connection errors, so the worker logs "Unrecoverable error" and exits, and
nothing consumes the queue until someone starts it again.

With the pin, a channel of a closed connection raises redis' ConnectionError instead: one of the
transport's connection errors, which the worker answers by reconnecting (the message stays
unacknowledged and comes back; every task resumes from its run's recorded progress). Installed once
from crm/celery.py; tests/crm/test_faults_broker.py restarts Redis under a worker."""

from functools import wraps


def install() -> None:
    from kombu.transport import redis as transport
    from redis.exceptions import ConnectionError as RedisConnectionError

    original = transport.Channel._connparams
    if getattr(original, "crm_pinned", False):
        return

    @wraps(original)
    def _connparams(self, asynchronous=False):
        owner = getattr(self, "connection", None)
        if owner is None or getattr(owner, "client", None) is None:
            raise RedisConnectionError("the broker connection was closed (Redis went away)")
        return original(self, asynchronous=asynchronous)

    _connparams.crm_pinned = True
    transport.Channel._connparams = _connparams
