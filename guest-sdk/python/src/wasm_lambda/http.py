"""Outbound HTTP from a Python guest: call APIs, AWS services and other
functions.

A small blocking client over the standard `wasi:http/outgoing-handler`, the
same the Rust SDK uses, so the same rules hold: the host lets a guest reach
only the destinations in its `outbound` list in `guests.toml` and the AWS
services in its `aws` list (whose requests the host signs with the
function's credentials; the guest never sees one). Connections are pooled
by the host and kept across warm invocations, and every request ends at the
invocation's deadline at the latest.

>>> from wasm_lambda import http
>>> def handle(event, ctx):
...     try:
...         rate = http.get("https://api.example.com/rates/usd", timeout=2).raise_for_status().json()
...         saved = http.post("https://api.example.com/orders", json={"id": 17, "rate": rate["eur"]},
...                           headers={"x-idempotency-key": "order-17"})
...     except http.Refused as error:          # not on the guest's outbound list
...         return {"statusCode": 403, "body": str(error)}
...     except http.HttpError as error:        # any other failure: error.kind says which
...         return {"statusCode": 502, "body": f"{error.kind}: {error}"}
...     return {"statusCode": saved.status}

Every failure raises an `HttpError` whose `kind` is one of `Refused`,
`Timeout`, `TooLarge`, `Connect`, `InvalidRequest`, `Status`, `Json`,
`Other` (the Rust SDK's `HttpErrorKind`), as the subclass of that name.
"""

from __future__ import annotations

import json as _json
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

from . import _host

# Imported when the guest is built, so the snapshot holds them (a module
# first imported at run time is not in the guest); absent on plain CPython.
try:
    from wit_world.imports import outgoing_handler as _outgoing_handler  # type: ignore[import-not-found]
    from wit_world.imports import wasi_http_types as _wasi_http_types  # type: ignore[import-not-found]
except ImportError:
    _outgoing_handler = _wasi_http_types = None

__all__ = [
    "Connect",
    "HttpError",
    "InvalidRequest",
    "JsonError",
    "Other",
    "Refused",
    "Response",
    "Status",
    "Timeout",
    "TooLarge",
    "delete",
    "get",
    "post",
    "put",
    "request",
]

# Bytes per write: the most `blocking-write-and-flush` takes at once.
_WRITE_CHUNK = 4096
# Bytes asked for per read.
_READ_CHUNK = 64 * 1024

Headers = Union[Mapping[str, str], Sequence[Tuple[str, str]]]

# ---------------------------------------------------------------- errors


class HttpError(Exception):
    """A request that gave no usable answer; `kind` says why."""

    kind = "Other"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Refused(HttpError):
    """The host refused the destination: not on the guest's `outbound` list
    nor a granted AWS service, or an address guests may never reach."""

    kind = "Refused"


class Timeout(HttpError):
    """No answer in time: the request's timeout or the invocation's deadline."""

    kind = "Timeout"


class TooLarge(HttpError):
    """The response was larger than the guest's cap (`outbound_response_limit_mb`)."""

    kind = "TooLarge"


class Connect(HttpError):
    """The destination could not be reached (DNS, refused or reset connection, TLS)."""

    kind = "Connect"


class InvalidRequest(HttpError):
    """The URL, method or a header is not valid."""

    kind = "InvalidRequest"


class Status(HttpError):
    """The response's status is not 2xx (from `Response.raise_for_status`)."""

    kind = "Status"

    def __init__(self, message: str, response: "Response") -> None:
        super().__init__(message)
        #: The response, body included.
        self.response = response
        #: Its status code.
        self.status = response.status


class JsonError(HttpError):
    """A body is not the JSON expected (or a value to send is not JSON)."""

    kind = "Json"


class Other(HttpError):
    """Any other failure."""

    kind = "Other"


# ---------------------------------------------------------------- responses


class Response:
    """An HTTP response, read in full.

    >>> r = Response(404, [("Content-Type", "application/json")], b'{"error": "no such order"}')
    >>> (r.status, r.ok, r.headers["content-type"], r.json()["error"])
    (404, False, 'application/json', 'no such order')
    """

    __slots__ = ("status", "header_list", "body")

    def __init__(self, status: int, header_list: List[Tuple[str, str]], body: bytes) -> None:
        #: The status code.
        self.status = status
        #: Every header as sent, in order: `(name, value)` with lowercase names.
        self.header_list = [(name.lower(), value) for name, value in header_list]
        #: The body's bytes.
        self.body = body

    @property
    def headers(self) -> Dict[str, str]:
        """Headers by lowercase name; repeated ones joined with `, `."""
        joined: Dict[str, str] = {}
        for name, value in self.header_list:
            joined[name] = f"{joined[name]}, {value}" if name in joined else value
        return joined

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        """The body as UTF-8 text (undecodable bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; raises `JsonError` if it is not."""
        try:
            return _json.loads(self.body)
        except ValueError as error:
            raise JsonError(f"the response body is not JSON: {error}") from None

    def raise_for_status(self) -> "Response":
        """This response if its status is 2xx, else raises `Status`."""
        if not self.ok:
            raise Status(f"HTTP status {self.status}: {self.text[:200]}", self)
        return self

    def __repr__(self) -> str:
        return f"Response(status={self.status}, {len(self.body)} bytes)"


# ---------------------------------------------------------------- requests


def get(url: str, *, headers: Optional[Headers] = None, timeout: Optional[float] = None) -> Response:
    """Sends a `GET` request; see `request`."""
    return request("GET", url, headers=headers, timeout=timeout)


def post(url: str, *, json: Any = None, data: Union[bytes, str, None] = None,
         headers: Optional[Headers] = None, timeout: Optional[float] = None) -> Response:
    """Sends a `POST` request; see `request`."""
    return request("POST", url, json=json, data=data, headers=headers, timeout=timeout)


def put(url: str, *, json: Any = None, data: Union[bytes, str, None] = None,
        headers: Optional[Headers] = None, timeout: Optional[float] = None) -> Response:
    """Sends a `PUT` request; see `request`."""
    return request("PUT", url, json=json, data=data, headers=headers, timeout=timeout)


def delete(url: str, *, headers: Optional[Headers] = None, timeout: Optional[float] = None) -> Response:
    """Sends a `DELETE` request; see `request`."""
    return request("DELETE", url, headers=headers, timeout=timeout)


def request(method: str, url: str, *, json: Any = None, data: Union[bytes, str, None] = None,
            headers: Optional[Headers] = None, timeout: Optional[float] = None) -> Response:
    """Sends a request and reads its whole response.

    `json` is sent as a JSON body with `content-type: application/json`;
    `data` as the body as is (str as UTF-8). `headers` is a mapping or a list
    of pairs (repeat a name for several values). `timeout` (seconds) bounds
    the wait for the first byte and between bytes; the invocation's deadline
    bounds every request anyway. Any status is a response: call
    `raise_for_status()` to make non-2xx an error.
    """
    fields = _header_pairs(headers)
    if json is not None and data is not None:
        raise InvalidRequest("pass json or data, not both")
    body = b""
    if json is not None:
        try:
            body = _json.dumps(json, separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError) as error:
            raise JsonError(f"the request body is not JSON-serialisable: {error}") from None
        if not any(name == "content-type" for name, _ in fields):
            fields.append(("content-type", b"application/json"))
    elif data is not None:
        body = data.encode() if isinstance(data, str) else bytes(data)
    # A known length, so the body goes out with content-length, not chunked
    # (which some servers, and every signed AWS call, prefer).
    if body and not any(name == "content-length" for name, _ in fields):
        fields.append(("content-length", str(len(body)).encode()))
    return _send(method, url, fields, body, timeout)


def _header_pairs(headers: Optional[Headers]) -> List[Tuple[str, bytes]]:
    if headers is None:
        return []
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    out = []
    for name, value in pairs:
        if not isinstance(name, str) or not isinstance(value, (str, bytes)):
            raise InvalidRequest(f"header {name!r}: names and values must be text")
        out.append((name.lower(), value.encode() if isinstance(value, str) else value))
    return out


def _send(method: str, url: str, fields: List[Tuple[str, bytes]], body: bytes,
          timeout: Optional[float]) -> Response:
    from componentize_py_types import Err  # type: ignore[import-not-found]

    _host.imports("http")  # says clearly when called at build time or outside a guest
    types = _wasi_http_types
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidRequest(f"`{url}` is not an http:// or https:// URL")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    try:
        headers = types.Fields.from_list(fields)
    except Err as err:
        raise InvalidRequest(f"a header of the request to {url} is invalid or forbidden "
                             f"({type(err.value).__name__.split('_')[-1]})") from None
    outgoing = types.OutgoingRequest(headers)
    try:
        outgoing.set_method(_method(types, method))
        outgoing.set_scheme(types.Scheme_Https() if parts.scheme == "https" else types.Scheme_Http())
        outgoing.set_authority(parts.netloc)
        outgoing.set_path_with_query(path)
    except Err:
        raise InvalidRequest(f"`{method} {url}` is not a valid request") from None
    outgoing_body = outgoing.body() if body else None
    options = None
    if timeout is not None:
        options = types.RequestOptions()
        nanos = max(0, int(timeout * 1e9))
        for setter in (options.set_first_byte_timeout, options.set_between_bytes_timeout):
            try:
                setter(nanos)
            except Err:
                pass  # a host may not support it; the deadline still bounds the call
    # Send first, then write the body: the host reads it while it is
    # written, so bodies larger than its buffer never block.
    try:
        future = _outgoing_handler.handle(outgoing, options)
    except Err as err:
        raise _from_code(err.value, url) from None
    if outgoing_body is not None:
        with outgoing_body.write() as stream:
            for start in range(0, len(body), _WRITE_CHUNK):
                try:
                    stream.blocking_write_and_flush(body[start:start + _WRITE_CHUNK])
                except Err as err:
                    raise _stream_error(err.value, url, "sending the body") from None
        try:
            types.OutgoingBody.finish(outgoing_body, None)
        except Err as err:
            raise _from_code(err.value, url) from None
    with future:
        answer = future.get()
        while answer is None:
            with future.subscribe() as ready:
                ready.block()
            answer = future.get()
    if isinstance(answer, Err) or isinstance(answer.value, Err):
        code = None if isinstance(answer, Err) else answer.value.value
        raise _from_code(code, url) if code is not None else Other("the response was already taken")
    with answer.value.value as response:
        status = response.status()
        with response.headers() as response_headers:
            header_list = [(name, value.decode("utf-8", errors="replace"))
                           for name, value in response_headers.entries()]
        incoming = response.consume()
    chunks = []
    with incoming:
        with incoming.stream() as stream:
            while True:
                try:
                    chunks.append(stream.blocking_read(_READ_CHUNK))
                except Err as err:
                    if type(err.value).__name__ == "StreamError_Closed":
                        break
                    raise _stream_error(err.value, url, "reading the response") from None
    return Response(status, header_list, b"".join(chunks))


def _method(types: Any, name: str) -> Any:
    known = {"GET": "Get", "HEAD": "Head", "POST": "Post", "PUT": "Put", "DELETE": "Delete",
             "CONNECT": "Connect", "OPTIONS": "Options", "TRACE": "Trace", "PATCH": "Patch"}
    variant = known.get(name.upper())
    return getattr(types, f"Method_{variant}")() if variant else types.Method_Other(name)


def _stream_error(error: Any, url: str, doing: str) -> HttpError:
    if type(error).__name__ == "StreamError_Closed":
        return Connect(f"{doing} for {url}: the connection closed")
    io_error = error.value
    code = _wasi_http_types.http_error_code(io_error)
    if code is not None:
        return _from_code(code, url)
    # wasmtime-wasi-http 48 hands body errors to guests as plain I/O errors
    # (no http-error-code); its wording is stable, and the two a guest can
    # act on (the size cap, the deadline) are recognised by it, as the Rust
    # SDK does.
    text = io_error.to_debug_string()
    if "response body size exceeds limit" in text:
        return TooLarge(f"the response from {url} is larger than this guest's cap "
                        f"(outbound_response_limit_mb in guests.toml): {text}")
    if "read timeout" in text:
        return Timeout(f"no answer from {url} in time (the request's timeout or the invocation's deadline)")
    return Other(f"{doing} for {url}: {text}")


def _from_code(code: Any, url: str) -> HttpError:
    """The host's wasi:http error code as an error a person can act on."""
    name = type(code).__name__.replace("ErrorCode_", "")
    if name == "HttpRequestDenied":
        return Refused(
            f"the host refused the request to {url}: it is not on this guest's `outbound` list in "
            "guests.toml, nor an endpoint of a service in its `aws` list (the host's log says why)")
    if name == "DestinationIpProhibited":
        return Refused(
            f"the host refused the request to {url}: it reaches an address guests may never call "
            "(the Lambda Runtime API, link-local or instance-metadata addresses)")
    if name == "HttpResponseBodySize":
        limit = getattr(code, "value", None)
        cap = f"cap of {limit} bytes" if limit is not None else "cap"
        return TooLarge(f"the response from {url} is larger than this guest's {cap} "
                        "(outbound_response_limit_mb in guests.toml)")
    if name in ("ConnectionTimeout", "ConnectionReadTimeout", "ConnectionWriteTimeout", "HttpResponseTimeout"):
        return Timeout(f"no answer from {url} in time (the request's timeout or the invocation's deadline)")
    if name == "ConnectionLimitReached":
        return Timeout(f"no free request slot for {url} in time: this guest has outbound_concurrency "
                       "requests in flight")
    if name == "DnsError":
        rcode = getattr(getattr(code, "value", None), "rcode", None)
        return Connect(f"{url}: {rcode or 'the name did not resolve'}")
    if name in ("ConnectionRefused", "DestinationNotFound", "DestinationUnavailable",
                "DestinationIpUnroutable", "ConnectionTerminated"):
        return Connect(f"{url}: could not connect ({name})")
    if name.startswith("Tls"):
        return Connect(f"{url}: TLS failed ({name})")
    if name in ("HttpRequestUriInvalid", "HttpRequestMethodInvalid"):
        return InvalidRequest(f"{url}: {name}")
    detail = getattr(code, "value", None)
    return Other(f"{url}: {name}{f' ({detail})' if detail else ''}")
