"""Write wasm-lambda guests in Python.

A guest is a module with a `@handler` function (and optionally `@init` and
`@warm`), built into a WebAssembly component with
`python -m wasm_lambda build app.py -o app.wasm`:

>>> import wasm_lambda
>>> seen = 0                       # module globals live as long as the instance
>>> @wasm_lambda.handler
... def handle(event, ctx):
...     global seen
...     seen += 1
...     return {"hello": event.get("name", "world"), "seen": seen}

- `@init`: runs once per instance before its first event (load models,
  read config). Raising fails the instance's start; the host retries later.
- `@handler`: `handle(event, ctx)` gets the decoded JSON event and a
  `Context`; any JSON-serialisable return value answers the event. Raise
  `GuestError(kind, message)` to answer with an error; any other exception
  becomes a guest error named after its class, with the traceback logged.
- `@warm`: `warm(info)` answers warmer pings (`WarmInfo`) instead of
  `handle`; without it a ping answers `null`. Business logic never runs on
  a ping.

Host services: `log.info(...)` and friends, `config(key)`,
`config_entries()`, `models` (`Model(name).classify(rows)`,
`.predict(rows)`, `.describe()`, `infer(name, inputs)`, strings where the
model takes strings) and `http` (`http.get(url)`, `http.post(url, json=...)`,
through the host's allow-list, pool and AWS signing). Call them from the
hooks, not at import time: the module is imported once when the guest is
built.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from . import _hooks, http, log, models
from .config import config, config_entries
from .context import Context, WarmInfo
from .errors import GuestError
from .models import Model, ModelError

__all__ = [
    "Context",
    "GuestError",
    "Model",
    "ModelError",
    "WarmInfo",
    "config",
    "config_entries",
    "handler",
    "http",
    "init",
    "log",
    "models",
    "warm",
]

__version__ = "0.2.0"

F = TypeVar("F", bound=Callable[..., Any])


def init(function: F) -> F:
    """Marks `function()` as the instance's init hook (optional)."""
    _hooks.register("init", function)
    return function


def handler(function: F) -> F:
    """Marks `function(event, ctx)` as the guest's event handler (required)."""
    _hooks.register("handler", function)
    return function


def warm(function: F) -> F:
    """Marks `function(info)` as the warmer-ping hook (optional)."""
    _hooks.register("warm", function)
    return function
