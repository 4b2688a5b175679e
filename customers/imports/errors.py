class ImportFileError(Exception):
    """The file as a whole cannot be imported (size, type, encoding, columns). Nothing is written;
    `message` is one sentence for the user, already translated."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
