"""The pin around kombu's Redis transport (crm/common/broker.py), on the mechanism itself: no Redis
needed. The real worker under a Redis restart is tests/crm/test_faults_broker.py."""

import pytest
from kombu import Connection


def test_a_channel_of_a_closed_connection_raises_a_connection_error_the_worker_recovers_from():
    # Given kombu's Redis channel of a connection the consumer closed (its client is gone)

    transport = Connection("redis://127.0.0.1:1/0").transport
    channel = transport.Channel.__new__(transport.Channel)  # not __init__: it would connect
    channel.connection = transport
    transport.client = None
    # When it builds its connection pool (to acknowledge a task, or restore unacked messages)
    # Then, pinned, it raises one of the transport's connection errors, which the worker answers by
    # reconnecting; kombu's own code raised AttributeError, which stopped the worker
    with pytest.raises(tuple(transport.connection_errors), match="Redis went away"):
        channel._connparams()
    with pytest.raises(AttributeError, match="hostname"):
        transport.Channel._connparams.__wrapped__(channel)
