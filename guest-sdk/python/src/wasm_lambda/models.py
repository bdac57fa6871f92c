"""Run the ONNX models the host loaded at init.

The host loads every model once, before the first event; a call costs the
model's run time plus the copy of its inputs and outputs. Two levels:

- `Model(name).classify(rows)` / `.predict(rows)`: rows of numbers in,
  labels and probabilities (or regression values) out, as scikit-learn
  models exported by skl2onnx answer. The rows go to the model's only input.
- `infer(name, {input_name: value})`: any inputs, every output back as
  nested lists. A value is a nested list (of numbers, bools or strings), an
  `array.array`, `bytes` (uint8) or a `Tensor` that fixes shape and element
  type.
- `describe(name)` (or `Model(name).describe()`): the model's inputs and
  outputs, with names, element types and shapes; `list_models()`: the
  models this guest may use.

Strings go where a model takes strings: a scikit-learn pipeline that
one-hot encodes `plan` and `city` takes them as they are.

Every failure (unknown model, one this guest may not use, wrong input name,
shape or element type, a failed run) raises a `ModelError` the guest can
catch; nothing traps.

>>> from wasm_lambda.models import Model, ModelError
>>> forest = Model("seed_forest")       # no host call yet: fine at import time
>>> def handle(event, ctx):
...     try:
...         labels, probabilities = forest.classify([event["data"]])
...     except ModelError as error:
...         return {"statusCode": 400, "body": str(error)}
...     return {"statusCode": 200, "body": labels[0]}
"""

from __future__ import annotations

import array
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from . import _host

# ---------------------------------------------------------------- errors


class ModelError(Exception):
    """A model call that gave no answer. `kind` is one of `UnknownModel`,
    `NotAllowed`, `InvalidInput`, `Failed`; subclasses exist for each."""

    kind = "ModelError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownModel(ModelError):
    """No model of that name is loaded."""

    kind = "UnknownModel"


class ModelNotAllowed(ModelError):
    """The manifest does not let this guest use that model."""

    kind = "NotAllowed"


class InvalidInput(ModelError):
    """Wrong input names, shapes or element types."""

    kind = "InvalidInput"


class ModelFailed(ModelError):
    """The model failed while running, or answered outputs of a form the
    typed call (`classify`, `predict`) did not expect."""

    kind = "Failed"


_ERRORS = {
    "ModelError_UnknownModel": (UnknownModel, "unknown model"),
    "ModelError_NotAllowed": (ModelNotAllowed, "model not allowed"),
    "ModelError_InvalidInput": (InvalidInput, "invalid model input"),
    "ModelError_Failed": (ModelFailed, "model failed"),
}

# ---------------------------------------------------------------- tensors

_ELEMENT_TYPES = ("float32", "float64", "int32", "int64", "uint8", "bool", "string")
_ARRAY_TYPES = {"f": "float32", "d": "float64", "b": "int32", "h": "int32",
                "B": "uint8", "H": "int32", "q": "int64"}
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1),
               "uint8": (0, 255)}


class Tensor:
    """Values with an explicit shape and element type.

    `values` is a flat sequence (row-major) or a nested list; `dtype` is one
    of float32, float64, int32, int64, uint8, bool, string.

    >>> t = Tensor([[1, 2], [3, 4]], dtype="float32")
    >>> (t.shape, t.dtype, t.values)
    ([2, 2], 'float32', [1.0, 2.0, 3.0, 4.0])
    >>> Tensor(array.array("f", [1, 2, 3, 4]), shape=[2, 2]).shape
    [2, 2]
    >>> Tensor([["basic"], ["pro"]]).dtype
    'string'
    """

    __slots__ = ("values", "shape", "dtype")

    def __init__(self, values: Any, shape: Optional[Sequence[int]] = None,
                 dtype: Optional[str] = None) -> None:
        if isinstance(values, array.array):
            flat: List[Any] = values.tolist()
            found_shape = [len(flat)]
            guessed = _array_dtype(values)
        elif isinstance(values, (bytes, bytearray, memoryview)):
            flat = list(bytes(values))
            found_shape = [len(flat)]
            guessed = "uint8"
        else:
            found_shape, flat = _flatten(values)
            guessed = _guess_dtype(flat)
        dtype = dtype or guessed
        if dtype not in _ELEMENT_TYPES:
            raise InvalidInput(f"unknown element type {dtype!r}; one of {', '.join(_ELEMENT_TYPES)}")
        if shape is None:
            shape = found_shape
        shape = [int(d) for d in shape]
        count = 1
        for d in shape:
            if d < 0:
                raise InvalidInput(f"shape {shape} has a negative dimension")
            count *= d
        if count != len(flat):
            raise InvalidInput(f"shape {shape} holds {count} elements, the values are {len(flat)}")
        self.values = _coerce(flat, dtype)
        self.shape = shape
        self.dtype = dtype

    def tolist(self) -> Any:
        """The values nested by shape (a scalar for a 0-d tensor)."""
        return _nest(self.values, self.shape)

    def __repr__(self) -> str:
        return f"Tensor(shape={self.shape}, dtype={self.dtype!r})"


def _array_dtype(values: array.array) -> str:
    code = values.typecode
    if code in ("i", "l"):
        return "int32" if values.itemsize == 4 else "int64"
    if code in ("I", "L", "Q"):
        return "int64"
    if code in _ARRAY_TYPES:
        return _ARRAY_TYPES[code]
    raise InvalidInput(f"array.array of type {code!r} has no tensor element type")


def _flatten(value: Any) -> Tuple[List[int], List[Any]]:
    """Shape and row-major elements of a nested list (or a scalar)."""
    shape: List[int] = []
    level = [value]
    while level and isinstance(level[0], (list, tuple)):
        width = len(level[0])
        for item in level:
            if not isinstance(item, (list, tuple)) or len(item) != width:
                raise InvalidInput(f"ragged input: rows of different lengths at depth {len(shape)}")
        shape.append(width)
        level = [x for item in level for x in item]
    if not shape and isinstance(value, (list, tuple)):
        shape = [0]
    return shape, level


def _guess_dtype(flat: List[Any]) -> str:
    if flat and all(isinstance(x, str) for x in flat):
        return "string"
    if flat and all(isinstance(x, bool) for x in flat):
        return "bool"
    if flat and all(isinstance(x, int) and not isinstance(x, bool) for x in flat):
        return "int64"
    return "float32"


def _coerce(flat: List[Any], dtype: str) -> List[Any]:
    if dtype == "string":
        for x in flat:
            if not isinstance(x, str):
                raise InvalidInput(f"an element is not a string: {x!r}")
        return list(flat)
    if any(isinstance(x, str) for x in flat):
        raise InvalidInput(f"an element is not a {dtype}: a string (use strings only where the model takes strings)")
    try:
        if dtype in ("float32", "float64"):
            return [float(x) for x in flat]
        if dtype == "bool":
            return [bool(x) for x in flat]
        low, high = _INT_RANGES[dtype]
        values = [x if type(x) is int else _exact_int(x) for x in flat]
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"an element is not a {dtype}: {error}") from None
    for x in values:
        if not low <= x <= high:
            raise InvalidInput(f"{x} is out of range for {dtype}")
    return values


def _exact_int(x: Any) -> int:
    if isinstance(x, float) and not x.is_integer():
        raise ValueError(f"{x} is not a whole number")
    return int(x)


def _nest(flat: List[Any], shape: Sequence[int]) -> Any:
    """Row-major `flat` as nested lists of `shape` (a scalar for shape [])."""
    if not shape:
        return flat[0] if flat else None
    if len(shape) == 1:
        return list(flat)
    inner = 1
    for d in shape[1:]:
        inner *= d
    if len(shape) == 2 and inner:
        return [list(flat[i:i + inner]) for i in range(0, shape[0] * inner, inner)]
    return [_nest(flat[i * inner:(i + 1) * inner], shape[1:]) for i in range(shape[0])]


def _to_wit(models: Any, name: str, value: Any) -> Any:
    tensor = value if isinstance(value, Tensor) else Tensor(value)
    if tensor.dtype == "float32":
        data = models.TensorData_Float32(tensor.values)
    elif tensor.dtype == "float64":
        data = models.TensorData_Float64(tensor.values)
    elif tensor.dtype == "int32":
        data = models.TensorData_Int32(tensor.values)
    elif tensor.dtype == "int64":
        data = models.TensorData_Int64(tensor.values)
    elif tensor.dtype == "uint8":
        data = models.TensorData_Uint8(bytes(tensor.values))
    elif tensor.dtype == "string":
        data = models.TensorData_String(tensor.values)
    else:
        data = models.TensorData_Boolean(tensor.values)
    return models.Tensor(name, tensor.shape, data)


_WIT_DTYPES = {"TensorData_Float32": "float32", "TensorData_Float64": "float64",
               "TensorData_Int32": "int32", "TensorData_Int64": "int64",
               "TensorData_Uint8": "uint8", "TensorData_Boolean": "bool",
               "TensorData_String": "string"}


def _model_error(value: Any) -> ModelError:
    error_class, what = _ERRORS.get(type(value).__name__, (ModelFailed, "model failed"))
    return error_class(f"{what}: {value.value}")


def _run(model: str, inputs: List[Any]) -> List[Tuple[str, List[int], str, List[Any]]]:
    """Calls the host: (name, shape, dtype, flat values) per output."""
    from componentize_py_types import Err  # type: ignore[import-not-found]

    models = _host.imports("models").models
    try:
        outputs = models.infer(model, inputs)
    except Err as err:
        raise _model_error(err.value) from None
    answer = []
    for output in outputs:
        values = output.data.value
        dtype = _WIT_DTYPES[type(output.data).__name__]
        answer.append((output.name, list(output.shape), dtype,
                       list(values) if dtype == "uint8" else values))
    return answer


def infer(model: str, inputs: Any) -> Dict[str, Any]:
    """Runs `model` and returns every output, name → nested lists.

    `inputs` maps input names to values (nested lists, `array.array`,
    `bytes`, `Tensor`); a single value without a name goes to the model's
    only input. Nested lists of whole numbers become int64, of `bool` bool,
    anything else float32; use `Tensor(values, dtype=...)` to choose.

    >>> from wasm_lambda.models import infer, Tensor
    >>> def handle(event, ctx):
    ...     outputs = infer("seed_forest", {"input": Tensor([event["data"]], dtype="float32")})
    ...     return outputs["label"]

    Raises `ModelError` (a subclass per kind) on any failure.
    """
    models = _host.imports("models").models
    if isinstance(inputs, Mapping):
        wit_inputs = [_to_wit(models, str(name), value) for name, value in inputs.items()]
    else:
        wit_inputs = [_to_wit(models, "", inputs)]
    return {name: _nest(values, shape) for name, shape, _, values in _run(model, wit_inputs)}


class TensorInfo(NamedTuple):
    """A model input or output: `name`, `dtype` (float32, float64, int32,
    int64, uint8, bool, string, or the name of a type guests cannot use,
    e.g. float16) and `shape` (an int per fixed dimension, the model's name
    for one known only at run time, such as "N")."""

    name: str
    dtype: str
    shape: List[Union[int, str]]


class ModelInfo(NamedTuple):
    """What a model takes and gives (`describe`)."""

    name: str
    inputs: List[TensorInfo]
    outputs: List[TensorInfo]


_INFO_DTYPES = {"ElementType_Float32": "float32", "ElementType_Float64": "float64",
                "ElementType_Int32": "int32", "ElementType_Int64": "int64",
                "ElementType_Uint8": "uint8", "ElementType_Boolean": "bool",
                "ElementType_String": "string"}


def _tensor_info(info: Any) -> TensorInfo:
    kind = type(info.element_type).__name__
    dtype = _INFO_DTYPES.get(kind) or str(getattr(info.element_type, "value", kind))
    return TensorInfo(info.name, dtype, [d.value for d in info.shape])


def describe(model: str) -> ModelInfo:
    """The inputs and outputs of `model`, so a guest can check or convert
    before calling it.

    >>> from wasm_lambda.models import describe
    >>> def handle(event, ctx):
    ...     info = describe("churn")
    ...     return {i.name: [i.dtype, i.shape] for i in info.inputs}

    Raises `ModelError` (unknown model, not allowed, failed to load).
    """
    from componentize_py_types import Err  # type: ignore[import-not-found]

    models = _host.imports("models").models
    try:
        info = models.describe(model)
    except Err as err:
        raise _model_error(err.value) from None
    return ModelInfo(info.name, [_tensor_info(i) for i in info.inputs],
                     [_tensor_info(o) for o in info.outputs])


def list_models() -> List[str]:
    """The names of the models this guest may use (loaded, and allowed by
    models.toml and guests.toml), sorted."""
    return list(_host.imports("models").models.list())


class Classification(NamedTuple):
    """A classifier's answer: one label and one row of class scores per row.
    Unpacks as `labels, probabilities = model.classify(rows)`. Labels are
    ints, or strings for a classifier trained on string labels."""

    labels: List[Union[int, str]]
    probabilities: List[List[float]]


class Model:
    """A model the host loaded, called by name with rows of features.

    Creating one does not call the host, so it may be a module global.

    >>> forest = Model("seed_forest")
    >>> forest.name
    'seed_forest'
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def infer(self, inputs: Any) -> Dict[str, Any]:
        """As `infer(self.name, inputs)`."""
        return infer(self.name, inputs)

    def describe(self) -> ModelInfo:
        """As `describe(self.name)`."""
        return describe(self.name)

    def classify(self, rows: Any) -> Classification:
        """Labels (the model's int64 or string output, `label` by preference)
        and class scores (its float32 `[rows, classes]` output,
        `probabilities` by preference).

        `rows` is a list of rows for the model's only input (numbers, or
        strings for a model that takes strings), or, for a model with
        several inputs (a ColumnTransformer's columns), a dict of input name
        to its rows: `{"plan": [["pro"]], "city": [["Berlin"]], "tenure": [[12.0]]}`."""
        outputs = self._run_rows(rows)
        labels = _pick(outputs, "label", "int64", 1) or _pick(outputs, "label", "string", 1)
        scores = _pick(outputs, "probabilities", "float32", 2)
        if labels is None:
            raise ModelFailed(f"model `{self.name}` has no int64 or string label output")
        if scores is None:
            raise ModelFailed(f"model `{self.name}` has no float32 [rows, classes] probabilities output")
        return Classification(labels[3], _nest(scores[3], scores[1]))

    def predict(self, rows: Any) -> List[List[float]]:
        """Each row's values (one per target) from the model's first float32
        `[rows, targets]` output (`variable` by preference); `rows` as for
        `classify`."""
        values = _pick(self._run_rows(rows), "variable", "float32", 2)
        if values is None:
            raise ModelFailed(f"model `{self.name}` has no float32 [rows, targets] output")
        return _nest(values[3], values[1])

    def _run_rows(self, rows: Any) -> List[Tuple[str, List[int], str, List[Any]]]:
        models = _host.imports("models").models
        if isinstance(rows, Mapping):
            return _run(self.name, [_to_wit(models, str(name), _rows_tensor(value))
                                    for name, value in rows.items()])
        return _run(self.name, [_to_wit(models, "", _rows_tensor(rows))])

    def __repr__(self) -> str:
        return f"Model({self.name!r})"


def _rows_tensor(rows: Any) -> Tensor:
    """Rows as one `[rows, features]` tensor: strings if every feature is
    one, else float32."""
    if isinstance(rows, Tensor):
        return rows
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence):
        raise InvalidInput("rows must be a list of rows of numbers (or of strings)")
    width = len(rows[0]) if rows else 0
    flat: List[Any] = []
    try:
        for i, row in enumerate(rows):
            if isinstance(row, (str, bytes)) or len(row) != width:
                raise InvalidInput(f"row {i} has {len(row)} features, row 0 has {width}")
            flat.extend(row)
    except TypeError as error:
        raise InvalidInput(f"rows must be lists of numbers: {error}") from None
    strings = bool(flat) and all(isinstance(x, str) for x in flat)
    try:
        values = flat if strings else [float(x) for x in flat]
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"rows must be lists of numbers, or all strings: {error}") from None
    return Tensor(values, shape=[len(rows), width], dtype="string" if strings else "float32")


def _pick(outputs: List[Tuple[str, List[int], str, List[Any]]], name: str, dtype: str,
          rank: int) -> Optional[Tuple[str, List[int], str, List[Any]]]:
    fits = [o for o in outputs if o[2] == dtype and len(o[1]) == rank]
    for output in fits:
        if output[0] == name:
            return output
    return fits[0] if fits else None
