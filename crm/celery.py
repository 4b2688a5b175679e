"""The Celery application: configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.local")

# crm.jobs holds the sweep task; it is no app's tasks module, so autodiscovery would not find it.
app = Celery("crm", include=["crm.jobs"])
app.config_from_object("django.conf:settings", namespace="CELERY")
# Apps' tasks modules, and those of the customers app's sub-packages (tiering, imports).
app.autodiscover_tasks()
app.autodiscover_tasks(["customers.tiering", "customers.imports"])
