"""The import service: accept an upload (`import_create`), run a job (`import_run`), and which jobs a
user may see (`import_jobs_visible_to`).

A run reads and validates every row first, writing only progress; then, in one transaction, it
writes the data, the rejected rows and the job's final state together. A file with a bad row
changes nothing unless the job is partial. A run interrupted anywhere (worker lost, database
gone) has written nothing but progress, so running the job again starts it afresh; a job already
finished is left alone, which makes the Celery task safe to deliver twice."""

import datetime as dt
import hashlib
import logging
import time
from contextlib import nullcontext

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.common import hooks
from crm.common.chunks import chunk_transaction
from crm.common.scopes import scope_for
from customers.imports.columns import HEADER_SEARCH_ROWS, ColumnMap, find_columns
from customers.imports.consumption_rows import ConsumptionImporter
from customers.imports.customer_rows import CustomerImporter
from customers.imports.errors import DuplicateImport, ImportFileError
from customers.imports.readers import open_table
from customers.imports.rows import source_rows
from customers.models import ImportJob, ImportRejection

logger = logging.getLogger(__name__)

CHUNK = 1000  # rows read before they are validated
# Progress (and the updated_at the runs' sweep reads) is saved at most this often: saving it after
# every chunk, each a commit of its own, cost a tenth of a 100,000-row import.
PROGRESS_SECONDS = 1.0
FINISHED = (ImportJob.State.DONE, ImportJob.State.REJECTED, ImportJob.State.FAILED)
IMPORTERS = {ImportJob.Kind.CUSTOMERS: CustomerImporter, ImportJob.Kind.CONSUMPTION: ConsumptionImporter}
# What a user must be allowed to do with the data to import a file of each kind.
KIND_PERMISSIONS = {
    ImportJob.Kind.CUSTOMERS: ("customers.add_customer", "customers.change_customer"),
    ImportJob.Kind.CONSUMPTION: ("customers.add_consumptionrecord", "customers.change_consumptionrecord"),
}


def import_jobs_visible_to(user):
    """A user sees their own imports; administrators and users who see all data see every import."""
    jobs = ImportJob.objects.select_related("created_by")
    if scope_for(user).sees_all:
        return jobs
    if not getattr(user, "is_authenticated", False):
        return jobs.none()
    return jobs.filter(created_by=user)


def import_progress(job: ImportJob) -> int:
    """Percent of the file's rows checked so far (a finished import is 100)."""
    if job.status in (ImportJob.State.DONE, ImportJob.State.REJECTED):
        return 100
    if not job.total_rows:
        return 0
    return min(100, job.processed_rows * 100 // job.total_rows)


def import_kind_allowed(*, user, kind: str) -> bool:
    return user.has_perms(KIND_PERMISSIONS[kind])


def inline_read_rows() -> int:
    """Rows of a file (blank ones count) the request reads, at most, to tell whether the file is
    small enough to import there: IMPORT_INLINE_MAX_ROWS data rows with room for title lines and
    blank rows. A file it has not read to the end by then goes to the worker."""
    return 2 * settings.IMPORT_INLINE_MAX_ROWS + HEADER_SEARCH_ROWS


def import_create(*, upload, kind: str, partial: bool, by, confirm_duplicate: bool = False) -> ImportJob:
    """Check the upload (size, type, encoding, header), store it as a job and run it: inside the
    request when it has at most IMPORT_INLINE_MAX_ROWS data rows, else on a worker. The request
    reads no more than `inline_read_rows()` rows of the file. A file refused here raises
    ImportFileError and leaves no job behind. The same file (the same bytes, the same kind) that
    `by` imported within IMPORT_DUPLICATE_MINUTES raises DuplicateImport with that job, unless
    `confirm_duplicate`: two uploads of one file at the same moment store one job, the other is told."""
    if kind not in IMPORTERS:
        raise ImportFileError(_("Choose what the file holds: customers or consumption."))
    limit = settings.IMPORT_MAX_FILE_BYTES
    if upload.size > limit:
        raise ImportFileError(
            _(
                "The file is %(size)s MB; files up to %(limit)s MB can be imported. "
                "Split it and upload the parts."
            )
            % {"size": _megabytes(upload.size), "limit": _megabytes(limit)}
        )
    inline_max = settings.IMPORT_INLINE_MAX_ROWS
    with open_table(upload, upload.name, read_rows=inline_read_rows()) as table:
        try:
            columns, rows = find_columns(table.rows(), kind)
        except ImportFileError:
            if table.read_all or table.values_seen:
                raise
            raise ImportFileError(
                _("The first %(rows)s rows of the file are empty; the header must be near the top.")
                % {"rows": f"{table.rows_read - 1:,}"}
            ) from None
        count = 0
        for _row in source_rows(table, rows, columns):
            count += 1
            if count > inline_max:
                break
        inline = table.read_all and count <= inline_max
    if inline and count == 0:
        raise ImportFileError(_("The file has a header but no data rows."))
    content_hash = _content_hash(upload)
    with transaction.atomic():
        if by is not None and by.pk is not None:
            # One user's uploads check and store one at a time: of two requests carrying the same
            # file at once, the second waits here for the first's job, then sees it.
            get_user_model().objects.select_for_update().filter(pk=by.pk).exists()
            earlier = (
                None
                if confirm_duplicate
                else import_recent_duplicate(by=by, kind=kind, content_hash=content_hash)
            )
            if earlier is not None:
                raise DuplicateImport(earlier)
        upload.seek(0)
        job = ImportJob.objects.create(
            kind=kind,
            file=upload,
            original_name=(upload.name or "")[:255],
            partial=partial,
            created_by=by,
            content_hash=content_hash,
        )
    if inline:
        return import_run(job_id=job.pk)
    from customers.imports.tasks import import_run_task

    language = translation.get_language()
    hooks.send_after_commit(import_run_task, job.pk, language)
    return job


def import_recent_duplicate(*, by, kind: str, content_hash: str) -> ImportJob | None:
    """The latest job of `by` within IMPORT_DUPLICATE_MINUTES with this file's content and kind that
    has written or may write its rows (queued, running or done; a rejected or failed one wrote
    nothing, so running the file again is no repeat)."""
    since = timezone.now() - dt.timedelta(minutes=settings.IMPORT_DUPLICATE_MINUTES)
    return (
        ImportJob.objects.filter(created_by=by, content_hash=content_hash, kind=kind, created_at__gte=since)
        .filter(status__in=[ImportJob.State.QUEUED, ImportJob.State.RUNNING, ImportJob.State.DONE])
        .order_by("-created_at", "-pk")
        .first()
    )


def _content_hash(upload) -> str:
    upload.seek(0)
    digest = hashlib.sha256()
    for block in upload.chunks() if hasattr(upload, "chunks") else iter(lambda: upload.read(1 << 20), b""):
        digest.update(block)
    upload.seek(0)
    return digest.hexdigest()


def import_run(*, job_id: int, language: str | None = None, retryable: bool = False) -> ImportJob:
    """Run a job to its end and return it. With `retryable`, a database error is raised for the
    caller to retry instead of failing the job."""
    with translation.override(language) if language else nullcontext():
        job = ImportJob.objects.select_related("created_by").get(pk=job_id)
        if job.status in FINISHED:
            return job
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.State.RUNNING,
            started_at=timezone.now(),
            processed_rows=0,
            error="",
            updated_at=timezone.now(),  # the runs' sweep (crm/jobs.py) reads progress from it
        )
        try:
            _run(job)
        except ImportFileError as exc:
            _fail(job, exc.message)
        except DatabaseError:
            if retryable:
                raise
            logger.exception("import %s: database error", job.pk)
            _fail(job, _("The database refused the import; nothing was written. Try again later."))
        except Exception:
            logger.exception("import %s failed", job.pk)
            _fail(job, _("The import stopped on an unexpected error; nothing was written."))
        job.refresh_from_db()
        return job


def import_fail(*, job_id: int, message: str) -> None:
    """Record that a job could not be run at all (e.g. its retries ran out)."""
    ImportJob.objects.filter(pk=job_id).exclude(status__in=FINISHED).update(
        status=ImportJob.State.FAILED, error=message, finished_at=timezone.now()
    )


def _run(job: ImportJob) -> None:
    with job.file.open("rb") as stored, open_table(stored, job.original_name) as table:
        columns, rows = find_columns(table.rows(), job.kind)
        estimate = max((table.estimated_rows or 0) - columns.header_row, 0)
        ImportJob.objects.filter(pk=job.pk).update(total_rows=estimate)
        importer = IMPORTERS[job.kind](job=job, columns=columns)
        count = 0
        chunk = []
        saved = time.monotonic()
        for row in source_rows(table, rows, columns):
            chunk.append(row)
            if len(chunk) >= CHUNK:
                count = _check(importer, chunk, count)
                chunk = []
                if time.monotonic() - saved >= PROGRESS_SECONDS:
                    _progress(job, count, estimate)
                    saved = time.monotonic()
        count = _check(importer, chunk, count)
        _progress(job, count, estimate)
    if count == 0:
        raise ImportFileError(_("The file has a header but no data rows."))
    importer.finish_check()
    _finish(job, importer, columns, count)


def _check(importer, chunk, count: int) -> int:
    # The table refuses a file beyond IMPORT_MAX_ROWS rows itself, counting while it streams.
    if chunk:
        importer.check(chunk)
        count += len(chunk)
    return count


def _progress(job: ImportJob, count: int, estimate: int) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        processed_rows=count, total_rows=max(estimate, count), updated_at=timezone.now()
    )


def _finish(job: ImportJob, importer, columns: ColumnMap, count: int) -> None:
    rejected = importer.rejected_rows
    write = job.partial or rejected == 0
    with chunk_transaction():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status in FINISHED:  # another delivery of the task got here first
            return
        created = updated = unchanged = 0
        if write:
            created, updated, unchanged = importer.write()
        ImportRejection.objects.filter(job=job).delete()
        ImportRejection.objects.bulk_create(
            (
                ImportRejection(
                    job=job, row_number=r.row, account_no=r.account_no, field=r.field, message=r.message
                )
                for r in importer.rejections
            ),
            batch_size=CHUNK,
        )
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.State.DONE if write else ImportJob.State.REJECTED,
            total_rows=count,
            processed_rows=count,
            created_count=created,
            updated_count=updated,
            unchanged_count=unchanged,
            rejected_count=rejected,
            error="",
            finished_at=timezone.now(),
        )


def _fail(job: ImportJob, message: str) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.State.FAILED,
        error=message,
        created_count=0,
        updated_count=0,
        unchanged_count=0,
        finished_at=timezone.now(),
    )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")
