"""What a hook knows about the invocation (or the warmer ping) it serves."""

from __future__ import annotations

import json
import time
from typing import Any, Dict, Optional

from . import _host


class Client:
    """The calling app, from a client context (AWS Lambda Python runtime's
    `ctx.client_context.client`); a field the caller left out is None."""

    __slots__ = ("installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name")

    def __init__(self, fields: Optional[Dict[str, Any]] = None) -> None:
        fields = fields or {}
        for name in self.__slots__:
            setattr(self, name, fields.get(name))


class ClientContext:
    """A client context as the AWS Lambda Python runtime gives it: `client`
    (a `Client`), `custom` and `env` (dicts); the JSON as sent is in `raw`.

    >>> cc = ClientContext.parse('{"client": {"app_title": "shop"}, "custom": {"cart": "7"}}')
    >>> (cc.client.app_title, cc.custom["cart"], cc.env)
    ('shop', '7', None)
    """

    __slots__ = ("client", "custom", "env", "raw")

    def __init__(self, client: Optional[Client] = None, custom: Optional[Dict[str, Any]] = None,
                 env: Optional[Dict[str, Any]] = None, raw: str = "") -> None:
        self.client = client
        self.custom = custom
        self.env = env
        self.raw = raw

    @classmethod
    def parse(cls, raw: Optional[str]) -> Optional["ClientContext"]:
        """The client context in `raw` (None without one; fields of JSON
        that is not an object are None)."""
        if raw is None:
            return None
        try:
            fields = json.loads(raw)
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            return cls(raw=raw)
        client = fields.get("client")
        return cls(Client(client) if isinstance(client, dict) else None,
                   fields.get("custom"), fields.get("env"), raw)


class CognitoIdentity:
    """The Cognito identity, as the AWS Lambda Python runtime gives it
    (`ctx.identity`, always present; both ids None without one).

    >>> i = CognitoIdentity.parse('{"cognitoIdentityId": "eu-west-1:42", "cognitoIdentityPoolId": "eu-west-1:p"}')
    >>> (i.cognito_identity_id, i.cognito_identity_pool_id)
    ('eu-west-1:42', 'eu-west-1:p')
    """

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, identity_id: Optional[str] = None, pool_id: Optional[str] = None) -> None:
        self.cognito_identity_id = identity_id
        self.cognito_identity_pool_id = pool_id

    @classmethod
    def parse(cls, raw: Optional[str]) -> "CognitoIdentity":
        """The identity in `raw` (JSON as Lambda sends it)."""
        try:
            fields = json.loads(raw) if raw else {}
        except ValueError:
            fields = {}
        if not isinstance(fields, dict):
            fields = {}
        return cls(fields.get("cognitoIdentityId"), fields.get("cognitoIdentityPoolId"))


class Context:
    """The invocation `handle(event, ctx)` serves.

    Besides its own names it answers to those of the AWS Lambda Python
    runtime's context (`aws_request_id`, `memory_limit_in_mb`,
    `get_remaining_time_in_millis()`, `client_context`, `identity`,
    `log_group_name`, `log_stream_name`, `tenant_id`), so ported handlers
    keep working.
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
        "trace_id",
        "client_context",
        "identity",
        "tenant_id",
        "_environment",
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
        trace_id: Optional[str] = None,
        client_context: Optional[ClientContext] = None,
        identity: Optional[CognitoIdentity] = None,
        tenant_id: Optional[str] = None,
        log_group_name: str = "",
        log_stream_name: str = "",
        region: str = "",
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
        #: The X-Ray trace header as Lambda sent it (`Root=1-...;Parent=...;Sampled=1`).
        self.trace_id = trace_id
        #: The caller's client context (`ClientContext`), if it sent one.
        self.client_context = client_context
        #: The Cognito identity (`CognitoIdentity`; its ids are None without one).
        self.identity = identity if identity is not None else CognitoIdentity()
        #: The tenant id, for a function in tenant isolation mode.
        self.tenant_id = tenant_id
        # Log group, log stream, region: given (tests), else asked of the
        # host once per instance (they never change).
        self._environment = (log_group_name, log_stream_name, region) if (
            log_group_name or log_stream_name or region) else None

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
            wit.trace_id,
            ClientContext.parse(wit.client_context),
            CognitoIdentity.parse(wit.cognito_identity),
            wit.tenant_id,
        )

    def remaining_time_ms(self) -> int:
        """Milliseconds left before the deadline (0 once past it).

        >>> Context(deadline_ms=0).remaining_time_ms()
        0
        """
        return max(0, self.deadline_ms - int(time.time() * 1000))

    @property
    def log_group_name(self) -> str:
        """The function's CloudWatch log group (empty outside Lambda)."""
        return self._lambda_environment()[0]

    @property
    def log_stream_name(self) -> str:
        """This environment's CloudWatch log stream (empty outside Lambda)."""
        return self._lambda_environment()[1]

    @property
    def region(self) -> str:
        """The AWS region the function runs in (empty outside Lambda)."""
        return self._lambda_environment()[2]

    def _lambda_environment(self) -> "tuple[str, str, str]":
        if self._environment is None:
            self._environment = _host_environment()
        return self._environment

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


_cached_environment: "Optional[tuple[str, str, str]]" = None


def _host_environment() -> "tuple[str, str, str]":
    """The host's `environment()`, asked once per instance."""
    global _cached_environment
    if _cached_environment is None:
        env = _host.imports("environment").host.environment()
        _cached_environment = (env.log_group_name, env.log_stream_name, env.region)
    return _cached_environment


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
