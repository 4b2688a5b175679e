class ImportFileError(Exception):
    """The file as a whole cannot be imported (size, type, encoding, columns). Nothing is written;
    `message` is one sentence for the user, already translated."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DuplicateImport(Exception):
    """The same file (the same bytes) was imported by the same user a few minutes ago: `earlier` is
    that job. Nothing is stored; the upload is run only when the user confirms."""

    def __init__(self, earlier) -> None:
        super().__init__(f"duplicate of import {earlier.pk}")
        self.earlier = earlier
