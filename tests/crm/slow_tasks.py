"""A task that takes a while, for the broker fault test only: loaded into its worker with
`celery worker --include tests.crm.slow_tasks`, never by the product."""

import time

from celery import shared_task

from crm.common.models import JobRun


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def slow_task(seconds: float, mark: str) -> None:
    """Sleep, then leave a record that it ran (one JobRun per run, its `job` the mark)."""
    from django.utils import timezone

    time.sleep(seconds)
    JobRun.objects.create(job=mark, started_at=timezone.now(), finished_at=timezone.now())
