"""File import tasks."""

from celery import shared_task
from django.db import DatabaseError
from django.utils import translation
from django.utils.translation import gettext as _

from customers.imports.jobs import import_fail, import_run

__all__ = ["import_run_task"]


@shared_task(bind=True, acks_late=True, max_retries=3, ignore_result=True)
def import_run_task(self, job_id: int, language: str | None = None) -> None:
    """Run one import job. Idempotent: a job already finished is left alone, and a job interrupted
    half-way has written nothing but progress, so a redelivered or retried task starts it afresh.
    A database error (locked, connection lost, a conflicting write) is retried with back-off."""
    try:
        import_run(job_id=job_id, language=language, retryable=True)
    except DatabaseError as exc:
        if self.request.retries >= self.max_retries:
            with translation.override(language):
                import_fail(job_id=job_id, message=_("The database refused the import; nothing was written."))
            return
        raise self.retry(exc=exc, countdown=10 * 2**self.request.retries) from exc
