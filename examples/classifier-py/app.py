"""`classifier-py`: seed 004's `app.py` (a scikit-learn RandomForest in a
Python Lambda container), ported to a wasm-lambda guest.

The seed loads `modelo.joblib` with joblib and scikit-learn on every call
(over a second of imports at cold start, tens of ms per call). Here the host
loads the same forest, exported to ONNX, once at init; the guest asks for
it by name. Same request, same answer:

    {"data": [0, 0, 0, 0]}  ->  {"statusCode": 200, "body": 1}

Several rows at once (`{"data": [[...], [...]]}`) answer a list in `body`.
The model name comes from the guest's config key `model` (default
`seed_forest`).
"""

import wasm_lambda
from wasm_lambda.models import InvalidInput, Model

forest = None


@wasm_lambda.init
def init():
    global forest
    forest = Model(wasm_lambda.config("model", "seed_forest"))


@wasm_lambda.handler
def handler(event, context):
    dados = event.get("data") if isinstance(event, dict) else None
    if not isinstance(dados, list) or not dados:
        raise wasm_lambda.GuestError("ValidationError", 'expected {"data": [feature, ...]}')
    single = not isinstance(dados[0], list)
    rows = [dados] if single else dados
    try:
        labels, _probabilities = forest.classify(rows)
    except InvalidInput as error:
        raise wasm_lambda.GuestError("ValidationError", str(error))
    return {"statusCode": 200, "body": labels[0] if single else labels}


@wasm_lambda.warm
def warm(info):
    return {"model": forest.name if forest else None}
