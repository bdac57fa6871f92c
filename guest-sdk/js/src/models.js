// The ONNX models the host loaded at init, called by name. Two levels:
// `new Model(name).classify(rows)` / `.predict(rows)` for scikit-learn
// models exported by skl2onnx, and `infer(name, inputs)` for any inputs and
// every output. Every failure is a ModelError subclass the guest can catch.
//
// The per-call paths use indexed loops, not iterators: the engine
// interprets (no JIT in WebAssembly), and there `Array.from(xs, f)` or
// `for...of` over four numbers costs ~7 us against ~0.3 us for a loop
// (BENCHMARKS.md, "JavaScript guests").

import { models as contract } from "./contract.js";
import { InvalidInput, ModelFailed, modelErrorFrom } from "./errors.js";

// Element type names, as `describe` gives them, to the contract's tags.
const TAGS = {
  float32: "float32",
  float64: "float64",
  int32: "int32",
  int64: "int64",
  uint8: "uint8",
  bool: "boolean",
  string: "string",
};
const TYPES = Object.fromEntries(Object.entries(TAGS).map(([type, tag]) => [tag, type]));
const NUMERIC = new Set(["float32", "float64", "int32", "int64", "uint8"]);
const INT_RANGES = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint8: [0, 255],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

function typedArrayType(values) {
  if (values instanceof Float32Array) return "float32";
  if (values instanceof Float64Array) return "float64";
  if (values instanceof Int32Array) return "int32";
  if (values instanceof BigInt64Array) return "int64";
  if (values instanceof Uint8Array) return "uint8";
  return undefined;
}

/**
 * Values with an explicit shape and element type. `values` is flat
 * (row-major): a typed array, or an array of numbers, booleans or strings.
 */
export class Tensor {
  /**
   * @param values flat values, or nested arrays (then `shape` may be left out)
   * @param options `{shape, type}`: type is one of float32, float64, int32,
   *   int64, uint8, bool, string (from a typed array or the values when left out)
   */
  constructor(values, { shape, type } = {}) {
    const flattened = ArrayBuffer.isView(values) ? { shape: [values.length], flat: values } : flatten(values);
    const elementType = type ?? typedArrayType(flattened.flat) ?? guessType(flattened.flat);
    fill(this, flattened.flat, shape ?? flattened.shape, elementType);
  }

  /** The values nested by shape, int64 as numbers (a scalar for shape []). */
  toArray() {
    return nest(this.values, this.shape);
  }

  toJSON() {
    return this.toArray();
  }
}

/** Checks and sets a tensor's fields (the constructor's work, shared with
 * the per-call path that has flattened its values already). */
function fill(tensor, flat, shape, type) {
  if (!(type in TAGS)) {
    throw new InvalidInput(`unknown element type \`${type}\`; one of ${Object.keys(TAGS).join(", ")}`);
  }
  const dims = new Array(shape.length);
  let count = 1;
  for (let i = 0; i < shape.length; i += 1) {
    const d = Number(shape[i]);
    if (!Number.isInteger(d) || d < 0) throw new InvalidInput(`shape [${shape.join(", ")}] has a dimension that is not a size`);
    dims[i] = d;
    count *= d;
  }
  if (count !== flat.length) {
    throw new InvalidInput(`shape [${dims.join(", ")}] holds ${count} elements, the values are ${flat.length}`);
  }
  /** Row-major values: a typed array for numbers, an array for bool and string. */
  tensor.values = coerce(flat, type);
  /** Dimensions. */
  tensor.shape = dims;
  /** Element type. */
  tensor.type = type;
  return tensor;
}

const isList = (value) => Array.isArray(value) || ArrayBuffer.isView(value);

/** Shape and row-major elements of nested arrays (typed arrays allowed as
 * the innermost level), or of a scalar. */
function flatten(value) {
  const shape = [];
  let level = [value];
  while (level.length > 0 && isList(level[0])) {
    const width = level[0].length;
    const next = [];
    for (let i = 0; i < level.length; i += 1) {
      const item = level[i];
      if (!isList(item) || item.length !== width) {
        throw new InvalidInput(`ragged input: rows of different lengths at depth ${shape.length}`);
      }
      for (let j = 0; j < width; j += 1) next.push(item[j]);
    }
    shape.push(width);
    level = next;
  }
  if (shape.length === 0 && Array.isArray(value)) shape.push(0);
  return { shape, flat: level };
}

function allOf(flat, type) {
  for (let i = 0; i < flat.length; i += 1) if (typeof flat[i] !== type) return false;
  return flat.length > 0;
}

function guessType(flat) {
  if (allOf(flat, "string")) return "string";
  if (allOf(flat, "boolean")) return "bool";
  if (allOf(flat, "bigint")) return "int64";
  return "float32";
}

const TYPED = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
};

function coerce(flat, type) {
  if (typedArrayType(flat) === type) return flat;
  const n = flat.length;
  if (type === "string") {
    const out = new Array(n);
    for (let i = 0; i < n; i += 1) {
      if (typeof flat[i] !== "string") throw new InvalidInput(`an element is not a string: ${String(flat[i])}`);
      out[i] = flat[i];
    }
    return out;
  }
  if (type === "bool") {
    const out = new Array(n);
    for (let i = 0; i < n; i += 1) out[i] = Boolean(flat[i]);
    return out;
  }
  const out = new TYPED[type](n);
  const range = INT_RANGES[type];
  for (let i = 0; i < n; i += 1) {
    let x = flat[i];
    if (typeof x === "boolean") x = Number(x);
    if (typeof x === "bigint") {
      out[i] = type === "int64" ? x : Number(x);
      continue;
    }
    if (typeof x !== "number") {
      throw new InvalidInput(`an element is not a ${type}: ${typeof x === "string" ? JSON.stringify(x) : String(x)} (strings go only where the model takes strings)`);
    }
    if (range) {
      if (!Number.isInteger(x)) throw new InvalidInput(`${x} is not a whole number, as ${type} needs`);
      if (x < range[0] || x > range[1]) throw new InvalidInput(`${x} is out of range for ${type}`);
    }
    out[i] = type === "int64" ? BigInt(x) : x;
  }
  return out;
}

/** Row-major `flat` (from `start`) as nested arrays of `shape` (from
 * dimension `dim`), int64 as numbers. */
function nest(flat, shape, dim = 0, start = 0) {
  if (shape.length === 0) return flat.length > 0 ? plain(flat[0]) : null;
  let inner = 1;
  for (let d = dim + 1; d < shape.length; d += 1) inner *= shape[d];
  const out = new Array(shape[dim]);
  for (let i = 0; i < shape[dim]; i += 1) {
    out[i] = dim === shape.length - 1 ? plain(flat[start + i]) : nest(flat, shape, dim + 1, start + i * inner);
  }
  return out;
}

const plain = (x) => (typeof x === "bigint" ? Number(x) : x);

// ------------------------------------------------------------- host calls

/** Each model's declared input types, asked once per instance: numbers in
 * JavaScript have no int/float distinction, so the model's own type
 * decides what they are sent as. */
const declaredTypes = new Map();

function declaredType(model, input) {
  let types = declaredTypes.get(model);
  if (types === undefined) {
    types = new Map(describe(model).inputs.map((i) => [i.name, i.type]));
    declaredTypes.set(model, types);
  }
  if (input === "" && types.size === 1) return types.values().next().value;
  return types.get(input);
}

function toTensor(model, name, value) {
  if (value instanceof Tensor) return value;
  if (ArrayBuffer.isView(value)) return new Tensor(value);
  const { shape, flat } = flatten(value);
  // Rows of typed arrays keep their element type.
  let innermost = value;
  while (Array.isArray(innermost) && innermost.length > 0) innermost = innermost[0];
  let type = ArrayBuffer.isView(innermost) ? typedArrayType(innermost) : undefined;
  if (!type) {
    let numbers = flat.length > 0;
    for (let i = 0; numbers && i < flat.length; i += 1) numbers = typeof flat[i] === "number" || typeof flat[i] === "bigint";
    if (numbers) {
      const declared = declaredType(model, name);
      type = NUMERIC.has(declared) ? declared : "float32";
    } else {
      type = guessType(flat);
    }
  }
  return fill(Object.create(Tensor.prototype), flat, shape, type);
}

function toWit(name, tensor) {
  // Typed arrays: componentize-js copies them as they are (it refuses an
  // array of BigInts for list<u64>).
  const shape = new BigUint64Array(tensor.shape.length);
  for (let i = 0; i < shape.length; i += 1) shape[i] = BigInt(tensor.shape[i]);
  return { name, shape, data: { tag: TAGS[tensor.type], val: tensor.values } };
}

function fromWit(output) {
  const type = TYPES[output.data.tag];
  const shape = new Array(output.shape.length);
  for (let i = 0; i < shape.length; i += 1) shape[i] = Number(output.shape[i]);
  const tensor = Object.create(Tensor.prototype);
  tensor.values = output.data.val;
  tensor.shape = shape;
  tensor.type = type;
  return [output.name, tensor];
}

function run(model, witInputs) {
  let outputs;
  try {
    outputs = contract.infer(model, witInputs);
  } catch (thrown) {
    throw modelErrorFrom(thrown);
  }
  const answer = new Array(outputs.length);
  for (let i = 0; i < outputs.length; i += 1) answer[i] = fromWit(outputs[i]);
  return answer;
}

function witInputs(model, inputs, convert) {
  if (inputs !== null && typeof inputs === "object" && !Array.isArray(inputs)
      && !ArrayBuffer.isView(inputs) && !(inputs instanceof Tensor)) {
    return Object.entries(inputs).map(([name, value]) => toWit(name, convert(model, name, value)));
  }
  return [toWit("", convert(model, "", inputs))];
}

/**
 * Runs `model`; every output comes back as `{name: Tensor}`, the values in
 * typed arrays (int64 as BigInt64Array: exact).
 */
export function inferTensors(model, inputs) {
  return Object.fromEntries(run(String(model), witInputs(String(model), inputs, toTensor)));
}

/**
 * Runs `model` on `inputs` (`{inputName: value}`; a single value without a
 * name goes to the model's only input) and returns every output as nested
 * arrays, `{name: [[...]]}` (int64 as numbers). A value is nested arrays of
 * numbers, booleans or strings, typed arrays, or a `Tensor`; numbers are
 * sent as the model's declared type for that input.
 */
export function infer(model, inputs) {
  const outputs = inferTensors(model, inputs);
  return Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, t.toArray()]));
}

function tensorInfo(info) {
  const tag = info.elementType.tag;
  return {
    name: info.name,
    type: tag === "other" ? info.elementType.val : TYPES[tag],
    shape: info.shape.map((d) => (d.tag === "fixed" ? Number(d.val) : d.val)),
  };
}

/**
 * What `model` takes and gives: `{name, inputs, outputs}`, each input and
 * output `{name, type, shape}` (a number per fixed dimension, the model's
 * name for one known only when it runs, such as "N").
 */
export function describe(model) {
  let info;
  try {
    info = contract.describe(String(model));
  } catch (thrown) {
    throw modelErrorFrom(thrown);
  }
  return { name: info.name, inputs: info.inputs.map(tensorInfo), outputs: info.outputs.map(tensorInfo) };
}

/** The names of the models this guest may use, sorted. */
export function list() {
  return Array.from(contract.list());
}

/** Rows (arrays or typed arrays of one length) as one `[rows, features]`
 * tensor of the model's type for that input (strings stay strings). */
function rowsTensor(model, name, rows) {
  if (rows instanceof Tensor) return rows;
  if (!Array.isArray(rows)) throw new InvalidInput("rows must be an array of rows (arrays of numbers, or of strings)");
  if (rows.length === 0) throw new InvalidInput("no rows: classify and predict take at least one");
  const width = rows[0].length;
  for (let i = 0; i < rows.length; i += 1) {
    if (!isList(rows[i])) throw new InvalidInput(`row ${i} is not an array`);
    if (rows[i].length !== width) throw new InvalidInput(`row ${i} has ${rows[i].length} features, row 0 has ${width}`);
  }
  return toTensor(model, name, rows);
}

function pick(outputs, name, types, rank) {
  let first;
  for (let i = 0; i < outputs.length; i += 1) {
    const [outputName, tensor] = outputs[i];
    if (!types.includes(tensor.type) || tensor.shape.length !== rank) continue;
    if (outputName === name) return tensor;
    first ??= tensor;
  }
  return first;
}

/** A model the host loaded, called by name. Creating one does not call the
 * host, so it may be a module-level constant. */
export class Model {
  /** @param {string} name the model's name (its file name without `.onnx`) */
  constructor(name) {
    this.name = String(name);
  }

  /** As `infer(this.name, inputs)`. */
  infer(inputs) {
    return infer(this.name, inputs);
  }

  /** As `describe(this.name)`. */
  describe() {
    return describe(this.name);
  }

  /**
   * A classifier's answer for `rows`: `{labels, probabilities}`, one label
   * (a number, or a string for string classes) and one row of class scores
   * per row. `rows` go to the model's only input; for a model with several
   * inputs, pass `{inputName: rows}`.
   */
  classify(rows) {
    const outputs = this.#runRows(rows);
    const labels = pick(outputs, "label", ["int64", "string"], 1);
    const scores = pick(outputs, "probabilities", ["float32"], 2);
    if (!labels) throw new ModelFailed(`model \`${this.name}\` has no int64 or string label output`);
    if (!scores) throw new ModelFailed(`model \`${this.name}\` has no float32 [rows, classes] probabilities output`);
    return { labels: labels.toArray(), probabilities: scores.toArray() };
  }

  /**
   * A regressor's answer: each row's values, one per target, from the
   * model's float32 `[rows, targets]` output (`variable` by preference).
   */
  predict(rows) {
    const values = pick(this.#runRows(rows), "variable", ["float32"], 2);
    if (!values) throw new ModelFailed(`model \`${this.name}\` has no float32 [rows, targets] output`);
    return values.toArray();
  }

  #runRows(rows) {
    const inputs = rows !== null && typeof rows === "object" && !Array.isArray(rows) && !(rows instanceof Tensor)
      ? Object.entries(rows).map(([name, value]) => toWit(name, rowsTensor(this.name, name, value)))
      : [toWit("", rowsTensor(this.name, "", rows))];
    return run(this.name, inputs);
  }
}

export { InvalidInput, ModelError, ModelFailed, ModelNotAllowed, UnknownModel } from "./errors.js";
