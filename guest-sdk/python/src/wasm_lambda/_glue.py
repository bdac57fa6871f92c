"""What the generated `Function` export calls: runs the app's hooks and
translates JSON, errors and exceptions to and from the WIT types.

componentize-py creates a new `Function` object for every call, so nothing
is kept on it; the app's state lives in its module globals, which persist
for the life of the instance.
"""

from __future__ import annotations

import gc
import importlib
import json
import logging
import traceback
from typing import Any, Callable, NoReturn

from . import _hooks, _host, log
from .context import Context, WarmInfo
from .errors import GuestError

_initialized = False


def load_app(module: str) -> None:
    """Imports the app at build time (componentize-py snapshots the result)."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(log.HostHandler())
    importlib.import_module(module)
    if _hooks.handler is None:
        raise RuntimeError(
            f"{module}.py has no @wasm_lambda.handler function: a guest needs one "
            "(def handle(event, ctx) decorated with @wasm_lambda.handler)"
        )
    # Everything imported so far is in the snapshot every instance starts
    # from; frozen, the garbage collector never walks it, so those memory
    # pages stay shared with the .cwasm instead of being touched per instance.
    gc.collect()
    gc.freeze()


def run_init() -> None:
    """The `init` export: runs the app's `@init` hook once per instance."""
    global _initialized
    _host.start_serving()
    if _hooks.init is not None:
        _guarded("init", _hooks.init)
    _initialized = True


def run_handle(event: bytes, context: Any) -> bytes:
    """The `handle` export: decodes the event, runs `@handler`, encodes its answer."""
    _ensure_initialized()
    try:
        decoded = json.loads(event)
    except ValueError as error:
        _fail("InvalidEvent", f"the event is not JSON: {error}")
    ctx = Context._from_wit(context)
    handler = _hooks.handler
    if handler is None:  # load_app refuses such apps; kept for a clear error anyway
        _fail("NoHandler", "the guest has no @wasm_lambda.handler")
    answer = _guarded("handle", lambda: handler(decoded, ctx))
    return _encode(answer, "answer")


def run_warm(info: Any) -> bytes:
    """The `warm` export: runs `@warm` (or answers null without one)."""
    _ensure_initialized()
    hook = _hooks.warm
    if hook is None:
        return b"null"
    warm_info = WarmInfo._from_wit(info)
    return _encode(_guarded("warm", lambda: hook(warm_info)), "warm answer")


def _ensure_initialized() -> None:
    # The host always calls init first; this keeps a host that did not from
    # turning into hooks that run without their state.
    if not _initialized:
        run_init()


def _guarded(hook: str, call: Callable[[], Any]) -> Any:
    """Runs a hook; `GuestError` answers as itself, any other exception as a
    guest error named after its class, with the traceback in the log."""
    try:
        return call()
    except GuestError as error:
        _fail(error.kind, error.message)
    except BaseException as error:  # noqa: BLE001 - sys.exit() too: every exception becomes an answer
        kind = type(error).__name__
        _log_traceback(f"uncaught {kind} in {hook}:\n{_app_traceback(error)}")
        _fail(kind, f"{_describe(error)} (uncaught in {hook}; traceback in the log)")


def _app_traceback(error: BaseException) -> str:
    """The traceback from the app's own frames on (this glue's are noise)."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_globals.get("__name__") == __name__:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb)).rstrip()


def _describe(error: BaseException) -> str:
    text = str(error)
    return text if text else type(error).__name__


def _log_traceback(text: str) -> None:
    try:
        log.error(text)
    except Exception:  # noqa: BLE001 - the error answer matters more than the log
        print(text)


def _encode(answer: Any, what: str) -> bytes:
    try:
        return json.dumps(answer, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as error:
        _fail("InvalidOutput", f"the {what} is not JSON-serialisable: {error}")


def _fail(kind: str, message: str) -> NoReturn:
    from componentize_py_types import Err  # type: ignore[import-not-found]
    # The contract's `types` (componentize-py names it after its package,
    # as wasi:http has a `types` too).
    from wit_world.imports import wasm_lambda_guest_types as types  # type: ignore[import-not-found]

    raise Err(types.GuestError(kind, message))
