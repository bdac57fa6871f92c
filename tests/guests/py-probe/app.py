"""`py-probe`: a Python guest that exercises every service of the Python SDK,
one `mode` per event, for the tests.

Module globals are the instance's state: `handled` and `pings` count what
this instance saw, so the tests can tell warm invocations (state kept),
pings (handle never runs) and new instances (state reset) apart.
"""

import array
import logging

import probe_helpers  # from extra/, bundled with `build -p extra`
import six  # a pure-Python dependency bundled from requirements.txt

import wasm_lambda
from wasm_lambda import http, log
from wasm_lambda.models import InvalidInput, Model, ModelError, Tensor, UnknownModel, describe, infer, list_models

handled = 0
pings = 0
initialized = 0


@wasm_lambda.init
def init():
    global initialized
    initialized += 1


def _context(ctx):
    return {
        "request_id": ctx.request_id,
        "aws_request_id": ctx.aws_request_id,
        "function_name": ctx.function_name,
        "function_version": ctx.function_version,
        "invoked_function_arn": ctx.invoked_function_arn,
        "memory_limit_in_mb": ctx.memory_limit_in_mb,
        "guest_name": ctx.guest_name,
        "cold": ctx.cold,
        "events_handled": ctx.events_handled,
        "remaining_ms": ctx.get_remaining_time_in_millis(),
    }


def _model_error(call):
    try:
        call()
    except ModelError as error:
        return {"caught": type(error).__name__, "kind": error.kind, "message": str(error)}
    return {"caught": None}


@wasm_lambda.handler
def handle(event, ctx):
    global handled
    handled += 1
    mode = event.get("mode", "count")
    if mode == "count":
        return {"handled": handled, "pings": pings, "initialized": initialized, "context": _context(ctx)}
    if mode == "context":
        cc = ctx.client_context
        return {
            "trace_id": ctx.trace_id,
            "tenant_id": ctx.tenant_id,
            "client_context": None if cc is None else {
                "raw": cc.raw,
                "installation_id": cc.client.installation_id if cc.client else None,
                "custom": cc.custom,
                "env": cc.env,
            },
            "identity": {"id": ctx.identity.cognito_identity_id, "pool": ctx.identity.cognito_identity_pool_id},
            "log_group_name": ctx.log_group_name,
            "region": ctx.region,
        }
    if mode == "churn":
        # The same rows as columns by name, through the typed call and infer.
        columns = event["inputs"]
        labels, probabilities = Model("churn").classify(columns)
        return {"labels": labels, "probabilities": probabilities, "infer": infer("churn", columns)}
    if mode == "churn-wrong-type":
        columns = dict(event["inputs"])
        columns["plan"] = Tensor([[1.0] for _ in columns["plan"]], dtype="float32")
        return _model_error(lambda: infer("churn", columns))
    if mode == "describe":
        info = Model(event["model"]).describe()
        return {"name": info.name, "inputs": [list(i) for i in info.inputs],
                "outputs": [list(o) for o in info.outputs], "models": list_models(),
                "unknown": _model_error(lambda: describe("no_such_model"))}
    if mode == "http":
        try:
            if event.get("json") is not None:
                response = http.post(event["url"], json=event["json"], timeout=event.get("timeout"))
            else:
                response = http.get(event["url"], timeout=event.get("timeout"))
        except http.HttpError as error:
            return {"error": error.kind, "class": type(error).__name__, "message": str(error)}
        return {"status": response.status, "body": response.text, "length": len(response.body)}
    if mode == "guest-error":
        raise wasm_lambda.GuestError("ValidationError", "quantity must be positive")
    if mode == "crash":
        return event["missing"]  # KeyError, uncaught
    if mode == "lazy-import":
        import decimal  # noqa: F401 - not imported at build time, so not in the guest

        return {"imported": True}
    if mode == "not-json":
        return {"a set": {1, 2}}
    if mode == "log":
        log.info("probe info for %s", ctx.request_id)
        logging.warning("probe warning through logging")
        print("probe printed")
        return {"logged": True, "request_id": ctx.request_id}
    if mode == "config":
        return {"greeting": wasm_lambda.config("greeting"), "missing": wasm_lambda.config("nope", "fallback"),
                "entries": wasm_lambda.config_entries()}
    if mode == "deps":
        return {"helper": probe_helpers.shout("hi"), "six": six.__version__}
    if mode == "classify":
        labels, probabilities = Model("seed_forest").classify(event["rows"])
        return {"labels": labels, "probabilities": probabilities}
    if mode == "predict":
        return {"values": Model(event["model"]).predict(event["rows"])}
    if mode == "infer":
        # The same rows three ways: nested lists, a flat array.array with a
        # shape, an explicit Tensor.
        rows = event["rows"]
        flat = array.array("f", [x for row in rows for x in row])
        return {
            "nested": infer("seed_forest", {"input": Tensor(rows, dtype="float32")}),
            "array": infer("seed_forest", {"input": Tensor(flat, shape=[len(rows), len(rows[0])])}),
            "unnamed": infer("seed_forest", Tensor(rows, dtype="float32")),
        }
    if mode == "infer-named":
        # Any model, its inputs by name as nested lists (strings or numbers).
        return infer(event["model"], event["inputs"])
    if mode == "model-errors":
        return {
            "unknown": _model_error(lambda: Model("no_such_model").classify([[0, 0, 0, 0]])),
            "width": _model_error(lambda: Model("seed_forest").classify([[0, 0, 0]])),
            "ragged": _model_error(lambda: Model("seed_forest").classify([[0, 0, 0, 0], [1]])),
            "name": _model_error(lambda: infer("seed_forest", {"wrong": Tensor([[0, 0, 0, 0]], dtype="float32")})),
            "dtype": _model_error(lambda: infer("seed_forest", {"input": [[0, 0, 0, 0]]})),
            "is_unknown": isinstance(_catch(lambda: infer("no_such_model", [[1.0]])), UnknownModel),
            "is_invalid": isinstance(_catch(lambda: Model("seed_forest").classify([[0, 0, 0]])), InvalidInput),
        }
    raise wasm_lambda.GuestError("UnknownMode", f"no mode {mode!r}")


def _catch(call):
    try:
        call()
    except ModelError as error:
        return error
    return None


@wasm_lambda.warm
def warm(info):
    global pings
    pings += 1
    return {"pings": pings, "handled": handled, "environment": info.environment,
            "correlation_id": info.correlation_id, "concurrency": info.concurrency, "cold": info.cold}
