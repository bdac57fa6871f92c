"""The host's imports, which exist only inside a built guest.

componentize-py generates the `wit_world` bindings when it builds the
component, and imports the app (and so this SDK) once at build time to
snapshot it. The host's services are not there at build time, so every
service goes through `imports()`, which says clearly when it is called too
early (at import time) or outside a guest (plain CPython).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

# Set by the entry glue when the host first calls a hook; module-level code
# runs at build time, before the host exists.
_serving = False


class NotInGuest(RuntimeError):
    """A host service was called where there is no host."""


def start_serving() -> None:
    """Marks that hooks are running inside the host (called by the glue)."""
    global _serving
    _serving = True


def imports(service: str) -> Any:
    """The generated bindings' `imports` package, once the host serves us."""
    if not _serving:
        raise NotInGuest(
            f"wasm_lambda.{service} is only available from init, handle or warm: "
            "module-level code runs once when the guest is built, where there is no host"
        )
    return _bindings()


def _bindings() -> ModuleType:
    try:
        from wit_world import imports as generated  # type: ignore[import-not-found]
    except ImportError as error:
        raise NotInGuest(
            "wasm_lambda's host services only exist inside a guest built with "
            "`python -m wasm_lambda build`"
        ) from error
    return generated
