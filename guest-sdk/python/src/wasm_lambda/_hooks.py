"""The hooks an app registered with `@init`, `@handler` and `@warm`."""

from __future__ import annotations

from typing import Any, Callable, Optional

init: Optional[Callable[[], Any]] = None
handler: Optional[Callable[[Any, Any], Any]] = None
warm: Optional[Callable[[Any], Any]] = None


def register(hook: str, function: Callable[..., Any]) -> None:
    """Records `function` as the app's `hook`; one of each per guest."""
    if not callable(function):
        raise TypeError(f"@wasm_lambda.{hook} decorates a function, not {function!r}")
    current = globals()[hook]
    if current is not None and current is not function:
        raise TypeError(
            f"two @wasm_lambda.{hook} functions: {_describe(current)} and {_describe(function)}; "
            "a guest has one of each"
        )
    globals()[hook] = function


def _describe(function: Callable[..., Any]) -> str:
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', function)}"
