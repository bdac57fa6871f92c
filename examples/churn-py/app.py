"""`churn-py`: will this customer churn? A scikit-learn pipeline whose
inputs are string categories and numbers, as tabular models usually are
(`models/churn.onnx`: `plan` and `city` one-hot encoded, `tenure_months`
and `monthly_spend` scaled, a logistic regression; `models/generate.py`
trains and exports it).

    {"plan": "pro", "city": "Berlin", "tenure_months": 14, "monthly_spend": 42.5}
      ->  {"statusCode": 200, "body": {"churns": false, "probability": 0.23}}

Several customers at once: `{"customers": [{...}, {...}]}` answers a list.
The guest reads what the model takes (`describe`) at init, so it sends
each column as the model's element type (strings stay strings) and names
any missing field in its error.
"""

import wasm_lambda
from wasm_lambda.models import InvalidInput, Model

model = None
columns = {}  # input name -> element type, from the model itself


@wasm_lambda.init
def init():
    global model, columns
    model = Model(wasm_lambda.config("model", "churn"))
    columns = {column.name: column.dtype for column in model.describe().inputs}


def _value(customer, name, dtype):
    if name not in customer:
        raise wasm_lambda.GuestError("ValidationError", f"missing field `{name}` (fields: {', '.join(columns)})")
    value = customer[name]
    if dtype == "string":
        return str(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise wasm_lambda.GuestError("ValidationError", f"`{name}` must be a number, not {value!r}") from None


@wasm_lambda.handler
def handle(event, ctx):
    single = "customers" not in event
    customers = [event] if single else event["customers"]
    # One [customers, 1] column per model input, named as the model names it.
    inputs = {name: [[_value(c, name, dtype)] for c in customers] for name, dtype in columns.items()}
    try:
        labels, probabilities = model.classify(inputs)
    except InvalidInput as error:
        raise wasm_lambda.GuestError("ValidationError", str(error)) from None
    # skl2onnx orders the probability columns as the classes: churns, stays.
    answers = [{"churns": label == "churns", "probability": round(row[0], 4)}
               for label, row in zip(labels, probabilities)]
    return {"statusCode": 200, "body": answers[0] if single else answers}
