"""Celery tasks of notices: they take ids, call one function, and are safe to run twice."""

from celery import shared_task

from crm.common.scheduling import ScheduledTask
from notices import jobs, sending

RETRY_SECONDS = [10, 30, 120, 600]


@shared_task(bind=True, ignore_result=True, max_retries=len(RETRY_SECONDS))
def send_sms_task(self, ids: list[int]):
    """Send these queued messages; those that failed transiently are retried (the same ids, so the
    same message ids go to the gateway) after a growing pause. A message already sent is skipped."""
    again = sending.send_messages(ids)
    if again and self.request.retries < self.max_retries:
        # throw=False: this run ends done (its sent messages are recorded), the retry is a new
        # message carrying only the ids still to send
        return self.retry(args=[again], countdown=RETRY_SECONDS[self.request.retries], throw=False)
    return None


@shared_task(ignore_result=True)
def send_queued_sms_task():
    """From beat: messages left queued by a lost task or a worker that died are sent."""
    for ids in sending.queued_chunks(left_behind=True):
        send_sms_task.delay(ids)


@shared_task(ignore_result=True)
def escalate_unacknowledged_task():
    """From beat: important customers not acknowledged 24 hours before the start go to the supervisor."""
    jobs.escalate_unacknowledged()


@shared_task(ignore_result=True)
def finish_ended_notices_task():
    """From beat: published notices whose window has ended are done."""
    jobs.finish_ended()


@shared_task(base=ScheduledTask, ignore_result=True)
def send_reminders_task():
    """From beat: the reminder the day before the start."""
    jobs.send_reminders()
