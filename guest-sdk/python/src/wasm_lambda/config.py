"""This guest's configuration, from `guests.toml` (`[guests.NAME] config`)."""

from __future__ import annotations

from typing import Dict, Optional

from . import _host


def config(key: str, default: Optional[str] = None) -> Optional[str]:
    """One value of this guest's configuration, or `default` when unset.

    >>> import wasm_lambda
    >>> def init():
    ...     global prefix
    ...     prefix = wasm_lambda.config("prefix", "order-")
    """
    value = _host.imports("config").host.config(key)
    return default if value is None else value


def config_entries() -> Dict[str, str]:
    """All of this guest's configuration, as a dict sorted by key."""
    return dict(_host.imports("config_entries").host.config_entries())
