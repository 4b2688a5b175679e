"""The Celery application: configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery

from crm.common import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.local")
# A Redis restart must not stop a worker (crm/common/broker.py).
broker.install()

# crm.jobs holds the sweep task, crm.common.chains the chains' step task and crm.common.fanout the
# chunks' task; none is an app's tasks module, so autodiscovery would not find them.
app = Celery("crm", include=["crm.jobs", "crm.common.chains", "crm.common.fanout"])
app.config_from_object("django.conf:settings", namespace="CELERY")
# Apps' tasks modules, and those of the customers app's sub-packages (tiering, imports).
app.autodiscover_tasks()
app.autodiscover_tasks(["customers.tiering", "customers.imports"])
