"""Where uploaded files (visit photos) are kept, from the environment: a local folder (MEDIA_ROOT)
unless DJANGO_STORAGE_S3_BUCKET names an S3-compatible bucket (AWS, MinIO, a cloud's OSS with an S3
endpoint), reached through django-storages. Either way the files are private: photos are served by a
view that checks the reader's scope (visits.photo_api), so S3 gets no public ACL and no signed URL
is ever handed out."""

from collections.abc import Mapping


def default_storage(environ: Mapping[str, str]) -> dict:
    """The `STORAGES["default"]` entry for `environ` (os.environ, or a test's mapping)."""
    bucket = environ.get("DJANGO_STORAGE_S3_BUCKET", "")
    if not bucket:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    options = {
        "bucket_name": bucket,
        "location": environ.get("DJANGO_STORAGE_S3_PREFIX", ""),
        "default_acl": None,  # the bucket's own (private) policy
        "file_overwrite": False,
        "querystring_auth": True,
        "signature_version": "s3v4",
        "addressing_style": environ.get("DJANGO_STORAGE_S3_ADDRESSING", "path"),
    }
    for option, name in (
        ("endpoint_url", "DJANGO_STORAGE_S3_ENDPOINT"),
        ("region_name", "DJANGO_STORAGE_S3_REGION"),
        ("access_key", "DJANGO_STORAGE_S3_ACCESS_KEY"),
        ("secret_key", "DJANGO_STORAGE_S3_SECRET_KEY"),
    ):
        if environ.get(name):
            options[option] = environ[name]
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
