"""Log lines that land in CloudWatch tagged with guest and request id.

>>> from wasm_lambda import log
>>> def handle(event, ctx):
...     log.info("order %s accepted", event["id"])

`print()` works too (the host tags stdout and stderr lines the same way);
these calls add a level. Python's `logging` module is routed here as well:
the root logger gets a `HostHandler`, so `logging.warning(...)` lands with
level WARN.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from . import _host

_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")


def _write(level: str, message: Any, args: tuple) -> None:
    text = str(message) % args if args else str(message)
    host = _host.imports("log").host
    host.log(host.LogLevel[level], text)


def trace(message: Any, *args: Any) -> None:
    """Log at TRACE; `args` fill `%` placeholders as in `logging`."""
    _write("TRACE", message, args)


def debug(message: Any, *args: Any) -> None:
    """Log at DEBUG."""
    _write("DEBUG", message, args)


def info(message: Any, *args: Any) -> None:
    """Log at INFO."""
    _write("INFO", message, args)


def warn(message: Any, *args: Any) -> None:
    """Log at WARN."""
    _write("WARN", message, args)


warning = warn


def error(message: Any, *args: Any) -> None:
    """Log at ERROR."""
    _write("ERROR", message, args)


def exception(message: Any, *args: Any) -> None:
    """Log at ERROR with the traceback of the exception being handled."""
    text = str(message) % args if args else str(message)
    _write("ERROR", f"{text}\n{traceback.format_exc().rstrip()}", ())


class HostHandler(logging.Handler):
    """A `logging` handler that writes records through the host's log."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if record.levelno >= logging.ERROR:
                level = "ERROR"
            elif record.levelno >= logging.WARNING:
                level = "WARN"
            elif record.levelno >= logging.INFO:
                level = "INFO"
            elif record.levelno >= logging.DEBUG:
                level = "DEBUG"
            else:
                level = "TRACE"
            _write(level, self.format(record), ())
        except Exception:  # noqa: BLE001 - logging must never raise into the app
            self.handleError(record)
