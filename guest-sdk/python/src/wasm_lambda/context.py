"""What a hook knows about the invocation (or the warmer ping) it serves."""

from __future__ import annotations

import time
from typing import Any, Optional


class Context:
    """The invocation `handle(event, ctx)` serves.

    Besides its own names it answers to those of the AWS Lambda Python
    runtime's context (`aws_request_id`, `memory_limit_in_mb`,
    `get_remaining_time_in_millis()`), so ported handlers keep working.
    """

    __slots__ = (
        "request_id",
        "deadline_ms",
        "function_name",
        "function_version",
        "invoked_function_arn",
        "memory_limit_mb",
        "guest_name",
        "cold",
        "events_handled",
    )

    def __init__(
        self,
        request_id: str = "",
        deadline_ms: int = 0,
        function_name: str = "",
        function_version: str = "",
        invoked_function_arn: str = "",
        memory_limit_mb: int = 0,
        guest_name: str = "",
        cold: bool = False,
        events_handled: int = 0,
    ) -> None:
        #: The Lambda request id.
        self.request_id = request_id
        #: When Lambda stops the invocation, in ms since the Unix epoch.
        self.deadline_ms = deadline_ms
        #: The Lambda function's name.
        self.function_name = function_name
        #: The Lambda function's version.
        self.function_version = function_version
        #: The ARN the function was invoked with.
        self.invoked_function_arn = invoked_function_arn
        #: The function's configured memory, in MB.
        self.memory_limit_mb = memory_limit_mb
        #: The name this guest is deployed under.
        self.guest_name = guest_name
        #: True when this instance has handled no event before this one.
        self.cold = cold
        #: Events this instance handled before this one.
        self.events_handled = events_handled

    @classmethod
    def _from_wit(cls, wit: Any) -> "Context":
        return cls(
            wit.request_id,
            wit.deadline_ms,
            wit.function_name,
            wit.function_version,
            wit.invoked_function_arn,
            wit.memory_limit_mb,
            wit.guest_name,
            wit.cold,
            wit.events_handled,
        )

    def remaining_time_ms(self) -> int:
        """Milliseconds left before the deadline (0 once past it).

        >>> Context(deadline_ms=0).remaining_time_ms()
        0
        """
        return max(0, self.deadline_ms - int(time.time() * 1000))

    # The AWS Lambda Python runtime's names for the same things.
    @property
    def aws_request_id(self) -> str:
        """The Lambda request id (Lambda Python runtime's name)."""
        return self.request_id

    @property
    def memory_limit_in_mb(self) -> int:
        """The function's memory in MB (Lambda Python runtime's name)."""
        return self.memory_limit_mb

    def get_remaining_time_in_millis(self) -> int:
        """As `remaining_time_ms()` (Lambda Python runtime's name)."""
        return self.remaining_time_ms()

    def __repr__(self) -> str:
        return (
            f"Context(request_id={self.request_id!r}, guest_name={self.guest_name!r}, "
            f"cold={self.cold}, events_handled={self.events_handled})"
        )


class WarmInfo:
    """A warmer ping, as the `warm(info)` hook sees it."""

    __slots__ = ("environment", "correlation_id", "concurrency", "cold")

    def __init__(
        self,
        environment: str = "",
        correlation_id: Optional[str] = None,
        concurrency: int = 1,
        cold: bool = False,
    ) -> None:
        #: Id of the Lambda environment (stable for the life of the process).
        self.environment = environment
        #: The correlation id the warmer sent, if any.
        self.correlation_id = correlation_id
        #: How many environments the warmer asked to keep warm.
        self.concurrency = concurrency
        #: True when the ping is the environment's first event.
        self.cold = cold

    @classmethod
    def _from_wit(cls, wit: Any) -> "WarmInfo":
        return cls(wit.environment, wit.correlation_id, wit.concurrency, wit.cold)

    def __repr__(self) -> str:
        return (
            f"WarmInfo(environment={self.environment!r}, correlation_id={self.correlation_id!r}, "
            f"concurrency={self.concurrency}, cold={self.cold})"
        )
