"""Celery tasks of the customer base. Celery's autodiscovery imports this module, so each task module
of the app is imported here."""

from customers.classification_tasks import *  # noqa: F403
from customers.import_tasks import *  # noqa: F403
