// The ONNX models the host loaded at init, called by name. Two levels:
// `new Model(name).classify(rows)` / `.predict(rows)` for scikit-learn
// models exported by skl2onnx, and `infer(name, inputs)` for any inputs and
// every output. Every failure is a ModelError subclass the guest can catch.

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
    const flattened = ArrayBuffer.isView(values)
      ? { shape: [values.length], flat: values }
      : flatten(values);
    const elementType = type ?? typedArrayType(flattened.flat) ?? guessType(flattened.flat);
    if (!(elementType in TAGS)) {
      throw new InvalidInput(`unknown element type \`${elementType}\`; one of ${Object.keys(TAGS).join(", ")}`);
    }
    const dims = (shape ?? flattened.shape).map(Number);
    let count = 1;
    for (const d of dims) {
      if (!Number.isInteger(d) || d < 0) throw new InvalidInput(`shape [${dims.join(", ")}] has a dimension that is not a size`);
      count *= d;
    }
    if (count !== flattened.flat.length) {
      throw new InvalidInput(`shape [${dims.join(", ")}] holds ${count} elements, the values are ${flattened.flat.length}`);
    }
    /** Row-major values: a typed array for numbers, an array for bool and string. */
    this.values = coerce(flattened.flat, elementType);
    /** Dimensions. */
    this.shape = dims;
    /** Element type. */
    this.type = elementType;
  }

  /** The values nested by shape, int64 as numbers (a scalar for shape []). */
  toArray() {
    const flat = this.type === "int64" ? Array.from(this.values, Number) : Array.from(this.values);
    return nest(flat, this.shape);
  }

  toJSON() {
    return this.toArray();
  }
}

/** Shape and row-major elements of nested arrays (typed arrays allowed as
 * the innermost level), or of a scalar. */
function flatten(value) {
  const shape = [];
  let level = [value];
  while (level.length > 0 && (Array.isArray(level[0]) || ArrayBuffer.isView(level[0]))) {
    const width = level[0].length;
    for (const item of level) {
      if (!(Array.isArray(item) || ArrayBuffer.isView(item)) || item.length !== width) {
        throw new InvalidInput(`ragged input: rows of different lengths at depth ${shape.length}`);
      }
    }
    shape.push(width);
    const next = [];
    for (const item of level) for (const x of item) next.push(x);
    level = next;
  }
  if (shape.length === 0 && Array.isArray(value)) shape.push(0);
  return { shape, flat: level };
}

function guessType(flat) {
  if (flat.length > 0 && flat.every((x) => typeof x === "string")) return "string";
  if (flat.length > 0 && flat.every((x) => typeof x === "boolean")) return "bool";
  if (flat.length > 0 && flat.every((x) => typeof x === "bigint")) return "int64";
  return "float32";
}

function coerce(flat, type) {
  if (typedArrayType(flat) === type) return flat;
  if (type === "string") {
    for (const x of flat) {
      if (typeof x !== "string") throw new InvalidInput(`an element is not a string: ${String(x)}`);
    }
    return Array.from(flat);
  }
  if (type === "bool") return Array.from(flat, Boolean);
  const numbers = Array.from(flat, (x) => {
    if (typeof x === "bigint") return type === "int64" ? x : Number(x);
    if (typeof x === "boolean") return Number(x);
    if (typeof x !== "number") {
      throw new InvalidInput(`an element is not a ${type}: ${typeof x === "string" ? JSON.stringify(x) : String(x)} (strings go only where the model takes strings)`);
    }
    return x;
  });
  if (type === "float32") return Float32Array.from(numbers);
  if (type === "float64") return Float64Array.from(numbers);
  const [low, high] = INT_RANGES[type];
  for (const x of numbers) {
    if (typeof x === "bigint") continue;
    if (!Number.isInteger(x)) throw new InvalidInput(`${x} is not a whole number, as ${type} needs`);
    if (x < low || x > high) throw new InvalidInput(`${x} is out of range for ${type}`);
  }
  if (type === "int32") return Int32Array.from(numbers);
  if (type === "uint8") return Uint8Array.from(numbers);
  return BigInt64Array.from(numbers, (x) => BigInt(x));
}

function nest(flat, shape) {
  if (shape.length === 0) return flat.length > 0 ? flat[0] : null;
  if (shape.length === 1) return flat;
  const inner = shape.slice(1).reduce((a, b) => a * b, 1);
  const rows = [];
  for (let i = 0; i < shape[0]; i += 1) rows.push(nest(flat.slice(i * inner, (i + 1) * inner), shape.slice(1)));
  return rows;
}

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
  const { flat } = flatten(value);
  const innerTyped = typedArrayType(flat);
  if (innerTyped) return new Tensor(value, { type: innerTyped });
  const allNumbers = flat.length > 0 && flat.every((x) => typeof x === "number" || typeof x === "bigint");
  if (allNumbers) {
    const declared = declaredType(model, name);
    return new Tensor(value, { type: NUMERIC.has(declared) ? declared : "float32" });
  }
  return new Tensor(value);
}

function toWit(name, tensor) {
  return {
    name,
    shape: BigUint64Array.from(tensor.shape, (d) => BigInt(d)),
    data: { tag: TAGS[tensor.type], val: tensor.values },
  };
}

function fromWit(output) {
  const type = TYPES[output.data.tag];
  const shape = Array.from(output.shape, Number);
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
  return outputs.map(fromWit);
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
  rows.forEach((row, i) => {
    if (!(Array.isArray(row) || ArrayBuffer.isView(row))) throw new InvalidInput(`row ${i} is not an array`);
    if (row.length !== width) throw new InvalidInput(`row ${i} has ${row.length} features, row 0 has ${width}`);
  });
  return toTensor(model, name, rows);
}

function pick(outputs, name, types, rank) {
  const fits = outputs.filter(([, t]) => types.includes(t.type) && t.shape.length === rank);
  return (fits.find(([n]) => n === name) ?? fits[0])?.[1];
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
