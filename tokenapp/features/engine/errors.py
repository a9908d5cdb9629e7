"""Errors the engine raises: each carries a code or field and a message fit to show the user."""


class EngineError(Exception):
    """Base class for engine errors."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ResumeFileError(EngineError):
    """An uploaded resume that cannot be used: empty, too large, wrong type, unreadable or without text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class EngineInputError(EngineError):
    """A required input is missing or unusable."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
