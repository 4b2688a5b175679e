"""Photos of a visit report (api.md, `visit-reports/{id}/photos/`): at most MAX_PHOTOS_PER_REPORT a
report, each a JPEG or PNG of at most MAX_PHOTO_BYTES that Pillow opens as what it claims to be,
stored through Django's storage API (`STORAGES["default"]`: a folder for `make run`, S3 in
production). The phone makes them smaller before they are stored (crm/static/crm/offline-outbox.js),
so what arrives is already a phone-sized picture; the server only checks it."""

import uuid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from visits.models import VisitPhoto, VisitReport

MAX_PHOTOS_PER_REPORT = 6
MAX_PHOTO_BYTES = 5 * 1024 * 1024
# Pillow's names of the two formats accepted, and the type each is stored and served as.
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
MAX_PIXELS = 40_000_000  # far above any phone camera: a larger "image" is a decompression bomb


def _inspect(upload) -> tuple[str, int, int]:
    """The content type, width and height of `upload`, or a refusal on the `file` field."""
    if upload.size > MAX_PHOTO_BYTES:
        raise ValidationError(
            {"file": [_("A photo may be at most %(mb)d MB.") % {"mb": MAX_PHOTO_BYTES // (1024 * 1024)}]}
        )
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            kind, (width, height) = image.format, image.size
            if width * height > MAX_PIXELS:
                raise ValidationError({"file": [_("This picture is too large.")]})
            image.verify()  # reads the whole file: a truncated or forged one fails here
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValidationError({"file": [_("The file is not a JPEG or PNG picture.")]}) from exc
    finally:
        upload.seek(0)
    if kind not in FORMATS:
        raise ValidationError({"file": [_("The file is not a JPEG or PNG picture.")]})
    claimed = (getattr(upload, "content_type", "") or "").lower()
    if claimed and claimed != "application/octet-stream" and claimed != FORMATS[kind]:
        raise ValidationError(
            {"file": [_("The file's content does not match its type (%(type)s).") % {"type": claimed}]}
        )
    return FORMATS[kind], width, height


def visit_photo_add(
    *, report: VisitReport, upload, by, client_id: uuid.UUID | None = None
) -> tuple[VisitPhoto, bool]:
    """Store `upload` as a photo of `report`. The same `client_id` again answers the photo already
    stored (False: not stored now), so a send repeated after a lost answer stores it once."""
    if client_id is not None:
        stored = VisitPhoto.objects.filter(report=report, client_id=client_id).first()
        if stored is not None:
            return stored, False
    content_type, width, height = _inspect(upload)
    try:
        with transaction.atomic():
            # the report's row locked: two uploads at once cannot both pass the count
            VisitReport.objects.select_for_update().filter(pk=report.pk).first()
            if VisitPhoto.objects.filter(report=report).count() >= MAX_PHOTOS_PER_REPORT:
                raise ValidationError(
                    {"file": [_("A report has at most %(n)d photos.") % {"n": MAX_PHOTOS_PER_REPORT}]}
                )
            photo = VisitPhoto(
                report=report,
                content_type=content_type,
                size=upload.size,
                width=width,
                height=height,
                client_id=client_id,
                by=by,
            )
            # the file is written first; a failed row leaves an orphan file, never a row without one
            photo.file.save("photo", upload, save=False)
            photo.save()
    except IntegrityError:
        stored = VisitPhoto.objects.filter(report=report, client_id=client_id).first() if client_id else None
        if stored is None:
            raise
        return stored, False
    return photo, True


@transaction.atomic
def visit_photo_delete(*, photo: VisitPhoto, by) -> None:
    """Remove a photo and its file (after the row is gone, so a failed delete keeps both)."""
    name, storage = photo.file.name, photo.file.storage
    photo.delete()
    transaction.on_commit(lambda: storage.delete(name))
