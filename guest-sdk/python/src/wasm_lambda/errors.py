"""The error a guest raises on purpose."""

from __future__ import annotations


class GuestError(Exception):
    """Answer the event with an error of your chosen kind.

    The invocation fails with Lambda `errorType` `GuestError`; the message
    carries `kind` and `message`, as a Rust guest's `Error` does.

    >>> error = GuestError("ValidationError", "quantity must be positive")
    >>> (error.kind, error.message)
    ('ValidationError', 'quantity must be positive')
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = str(kind)
        self.message = str(message)
