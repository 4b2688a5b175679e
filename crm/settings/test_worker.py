"""Settings of the `celery worker` processes that tests/crm/test_faults.py starts: the test
settings, with tasks sent through the broker (a chain's next step too), not run in-process."""

from crm.settings.test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
# A message whose worker died comes back once its visibility timeout (BROKER_VISIBILITY_TIMEOUT) is
# over: here the workers look for such messages every second instead of every 100 seconds, so a
# fault test that shortens the timeout sees the message return within seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
