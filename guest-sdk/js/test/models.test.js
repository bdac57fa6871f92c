import assert from "node:assert/strict";
import { test } from "node:test";
import { models } from "../src/index.js";
import { fakeHost } from "./support/helpers.js";

const FOREST = {
  name: "seed_forest",
  inputs: [{ name: "input", elementType: { tag: "float32" }, shape: [{ tag: "unknown", val: "N" }, { tag: "fixed", val: 4n }] }],
  outputs: [
    { name: "label", elementType: { tag: "int64" }, shape: [{ tag: "unknown", val: "N" }] },
    { name: "probabilities", elementType: { tag: "float32" }, shape: [{ tag: "unknown", val: "N" }, { tag: "fixed", val: 2n }] },
  ],
};

/** A host with the forest: records what infer was sent, answers label 1
 * and probabilities [0.25, 0.75] per row, as componentize-js lifts them. */
function forestHost(extra = {}) {
  const sent = [];
  const host = fakeHost({
    describe: (name) => {
      if (name !== "seed_forest") throw Object.assign(new Error("(see error.payload)"), { payload: { tag: "unknown-model", val: `no model \`${name}\`` } });
      return FOREST;
    },
    infer: (name, inputs) => {
      sent.push(...inputs);
      const rows = Number(inputs[0].shape[0]);
      return [
        { name: "label", shape: BigUint64Array.of(BigInt(rows)), data: { tag: "int64", val: BigInt64Array.from({ length: rows }, () => 1n) } },
        { name: "probabilities", shape: BigUint64Array.of(BigInt(rows), 2n), data: { tag: "float32", val: Float32Array.from({ length: rows * 2 }, (_, i) => (i % 2 ? 0.75 : 0.25)) } },
      ];
    },
    ...extra,
  });
  return { sent, ...host };
}

test("classify sends rows as the model's declared type and shape, labels as numbers", () => {
  const { sent } = forestHost();
  const { labels, probabilities } = new models.Model("seed_forest").classify([[0, 0, 0, 0], [1, 2, 3, 4]]);
  assert.deepEqual(labels, [1, 1]);
  assert.deepEqual(probabilities, [[0.25, 0.75], [0.25, 0.75]]);
  assert.equal(sent[0].name, "");
  assert.deepEqual(Array.from(sent[0].shape), [2n, 4n]);
  assert.equal(sent[0].data.tag, "float32");
  assert.ok(sent[0].data.val instanceof Float32Array);
  assert.deepEqual(Array.from(sent[0].data.val), [0, 0, 0, 0, 1, 2, 3, 4]);
});

test("infer takes nested arrays, typed arrays and tensors alike", () => {
  const { sent } = forestHost();
  const rows = [[0, 0, 0, 0], [1.5, -2, 0.5, 3]];
  const nested = models.infer("seed_forest", { input: rows });
  const typed = models.infer("seed_forest", { input: rows.map((r) => Float32Array.from(r)) });
  const tensor = models.infer("seed_forest", { input: new models.Tensor(Float32Array.from(rows.flat()), { shape: [2, 4] }) });
  const unnamed = models.infer("seed_forest", rows);
  for (const answer of [typed, tensor, unnamed]) assert.deepEqual(answer, nested);
  assert.deepEqual(nested.label, [1, 1]);
  assert.deepEqual(sent.map((t) => t.name), ["input", "input", "input", ""]);
  for (const t of sent) assert.deepEqual(Array.from(t.data.val), rows.flat().map(Math.fround));
  const exact = models.inferTensors("seed_forest", rows);
  assert.ok(exact.label.values instanceof BigInt64Array);
});

test("tensors check shape, type and range", () => {
  assert.deepEqual(new models.Tensor([[1, 2], [3, 4]], { type: "int32" }).shape, [2, 2]);
  assert.equal(new models.Tensor([["basic"], ["pro"]]).type, "string");
  assert.equal(new models.Tensor([true, false]).type, "bool");
  assert.equal(new models.Tensor(new Float64Array(3)).type, "float64");
  assert.throws(() => new models.Tensor([[1, 2], [3]]), models.InvalidInput);
  assert.throws(() => new models.Tensor([1, 2, 3], { shape: [2, 2] }), /holds 4 elements, the values are 3/);
  assert.throws(() => new models.Tensor([300], { type: "uint8" }), /out of range for uint8/);
  assert.throws(() => new models.Tensor([1.5], { type: "int64" }), /not a whole number/);
  assert.throws(() => new models.Tensor(["a"], { type: "float32" }), /strings go only where the model takes strings/);
  assert.throws(() => new models.Tensor([1], { type: "float16" }), /unknown element type `float16`/);
  assert.deepEqual(new models.Tensor([[1n, 2n]]).toArray(), [[1, 2]]);
});

test("strings go as strings and string labels come back", () => {
  const sent = [];
  fakeHost({
    describe: () => ({ name: "churn", inputs: [{ name: "plan", elementType: { tag: "string" }, shape: [] }, { name: "tenure", elementType: { tag: "float32" }, shape: [] }], outputs: [] }),
    infer: (_name, inputs) => {
      sent.push(...inputs);
      return [
        { name: "label", shape: BigUint64Array.of(1n), data: { tag: "string", val: ["stays"] } },
        { name: "probabilities", shape: BigUint64Array.of(1n, 2n), data: { tag: "float32", val: Float32Array.of(0.5, 0.5) } },
      ];
    },
  });
  const { labels } = new models.Model("churn").classify({ plan: [["pro"]], tenure: [[12]] });
  assert.deepEqual(labels, ["stays"]);
  assert.deepEqual(sent.map((t) => [t.name, t.data.tag]), [["plan", "string"], ["tenure", "float32"]]);
});

test("every host refusal is a ModelError subclass with the host's reason", () => {
  const kinds = { "unknown-model": models.UnknownModel, "not-allowed": models.ModelNotAllowed, "invalid-input": models.InvalidInput, failed: models.ModelFailed };
  for (const [tag, ErrorClass] of Object.entries(kinds)) {
    forestHost({ infer: () => { throw Object.assign(new Error("x"), { payload: { tag, val: "because" } }); } });
    assert.throws(() => models.infer("seed_forest", [[0, 0, 0, 0]]), (error) => {
      assert.ok(error instanceof ErrorClass && error instanceof models.ModelError, `${tag}: ${error}`);
      assert.match(error.message, /because$/);
      return true;
    });
  }
  forestHost();
  assert.throws(() => models.describe("nope"), models.UnknownModel);
  assert.throws(() => new models.Model("seed_forest").classify([[0, 0, 0, 0], [1]]), /row 1 has 1 features, row 0 has 4/);
  assert.throws(() => new models.Model("seed_forest").classify([]), /no rows/);
});

test("classify and predict say when a model's outputs do not fit them", () => {
  forestHost({ infer: () => [{ name: "variable", shape: BigUint64Array.of(1n, 1n), data: { tag: "float32", val: Float32Array.of(2.5) } }] });
  assert.throws(() => new models.Model("seed_forest").classify([[0, 0, 0, 0]]), models.ModelFailed);
  assert.deepEqual(new models.Model("seed_forest").predict([[0, 0, 0, 0]]), [[2.5]]);
});

test("describe names types and dimensions; list is the host's", () => {
  forestHost({ list: () => ["a", "b"] });
  assert.deepEqual(models.describe("seed_forest").inputs, [{ name: "input", type: "float32", shape: ["N", 4] }]);
  assert.deepEqual(models.list(), ["a", "b"]);
});
