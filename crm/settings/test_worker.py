"""Settings of the `celery worker` processes that tests/crm/test_faults.py starts: the test
settings, with tasks sent through the broker (a chain's next step too), not run in-process."""

from crm.settings.test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
