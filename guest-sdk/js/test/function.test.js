import assert from "node:assert/strict";
import { test } from "node:test";
import { defineFunction, GuestError } from "../src/index.js";
import { guestExports } from "../src/function.js";
import { bytes, fakeHost, json, witContext } from "./support/helpers.js";

/** What an export threw: the contract's guest-error. */
function thrown(run) {
  try {
    run();
  } catch (error) {
    return error;
  }
  assert.fail("expected a throw");
}

test("defineFunction refuses what is not a guest, saying what is missing", () => {
  assert.throws(() => defineFunction({}), /needs a `handle\(event, ctx\)` function/);
  assert.throws(() => defineFunction({ handle: 1 }), /`handle` must be a function/);
  assert.throws(() => defineFunction({ handle() {}, warm: "x" }), /`warm` must be a function/);
  assert.throws(() => defineFunction({ handle() {}, hande() {} }), /unknown hook `hande`/);
  assert.throws(() => defineFunction(null), /takes an object/);
});

test("the export refuses an app without a defineFunction default export", () => {
  assert.throws(() => guestExports(undefined, "app.ts"), /app.ts has no default export/);
  assert.throws(() => guestExports({ handle() {} }, "app.ts"), /not made by defineFunction/);
});

test("handle gets the decoded event and a context; its answer is JSON", () => {
  fakeHost();
  const exported = guestExports(defineFunction({
    handle: (event, ctx) => ({ doubled: event.n * 2, id: ctx.awsRequestId, cold: ctx.cold }),
  }));
  exported.init();
  const answer = exported.handle(bytes({ n: 21 }), witContext());
  assert.ok(answer instanceof Uint8Array, "a sync hook answers without a promise");
  assert.deepEqual(json(answer), { doubled: 42, id: "req-1", cold: true });
});

test("module state lives across calls and init runs once", () => {
  fakeHost();
  let inits = 0;
  let seen = 0;
  const exported = guestExports(defineFunction({ init: () => { inits += 1; }, handle: () => ({ seen: ++seen }) }));
  exported.init();
  for (let n = 1; n <= 3; n += 1) assert.deepEqual(json(exported.handle(bytes({}), witContext())), { seen: n });
  assert.equal(inits, 1);
});

test("an async handle answers through a promise", async () => {
  fakeHost();
  const exported = guestExports(defineFunction({
    async handle(event) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return { later: event.x };
    },
  }));
  const answer = exported.handle(bytes({ x: "y" }), witContext());
  assert.ok(answer instanceof Promise);
  assert.deepEqual(json(await answer), { later: "y" });
});

test("a GuestError answers as its kind and message, sync or async", async () => {
  fakeHost();
  const sync = guestExports(defineFunction({ handle() { throw new GuestError("ValidationError", "four features"); } }));
  const error = thrown(() => sync.handle(bytes({}), witContext()));
  assert.deepEqual({ kind: error.kind, message: error.message }, { kind: "ValidationError", message: "four features" });
  const later = guestExports(defineFunction({ async handle() { await null; throw new GuestError("Conflict", "shipped"); } }));
  await assert.rejects(later.handle(bytes({}), witContext()), { kind: "Conflict", message: "shipped" });
});

test("any other exception answers as its class, its stack in the log, never a trap", async () => {
  const { lines } = fakeHost();
  const exported = guestExports(defineFunction({
    handle(event) {
      if (event.async) return Promise.reject(new RangeError("too far"));
      if (event.string) throw "plain string";
      return event.missing.field;
    },
  }));
  const error = thrown(() => exported.handle(bytes({}), witContext()));
  assert.equal(error.kind, "TypeError");
  assert.match(error.message, /\(uncaught in handle; stack in the log\)$/);
  assert.equal(lines.length, 1);
  assert.equal(lines[0][0], "error");
  assert.match(lines[0][1], /^uncaught TypeError in handle: .*\n.*function\.test\.js/s);
  await assert.rejects(exported.handle(bytes({ async: true }), witContext()), { kind: "RangeError" });
  const string = thrown(() => exported.handle(bytes({ string: true }), witContext()));
  assert.equal(string.kind, "Error");
  assert.match(string.message, /a thrown string: plain string/);
});

test("an event that is not JSON, and an answer that cannot be, are clear errors", () => {
  fakeHost();
  const exported = guestExports(defineFunction({ handle: (event) => (event.big ? { n: 1n } : event) }));
  assert.equal(thrown(() => exported.handle(bytes("{nope"), witContext())).kind, "InvalidEvent");
  assert.equal(thrown(() => exported.handle(new Uint8Array([0xff, 0xfe]), witContext())).kind, "InvalidEvent");
  const output = thrown(() => exported.handle(bytes({ big: true }), witContext()));
  assert.equal(output.kind, "InvalidOutput");
  assert.match(output.message, /not JSON-serialisable/);
});

test("undefined answers null; an empty event is null", () => {
  fakeHost();
  const exported = guestExports(defineFunction({ handle: (event) => (event === null ? undefined : event) }));
  assert.equal(new TextDecoder().decode(exported.handle(new Uint8Array(), witContext())), "null");
});

test("warm runs the warm hook, never handle; without one it answers null", () => {
  fakeHost();
  let handled = 0;
  const info = { environment: "env-1", correlationId: "c", concurrency: 3, cold: false };
  const withHook = guestExports(defineFunction({ handle: () => ++handled, warm: (i) => ({ env: i.environment, n: i.concurrency }) }));
  assert.deepEqual(json(withHook.warm(info)), { env: "env-1", n: 3 });
  assert.equal(handled, 0);
  const without = guestExports(defineFunction({ handle: () => ++handled }));
  assert.equal(new TextDecoder().decode(without.warm(info)), "null");
});

test("a failing init is the instance's init error", () => {
  fakeHost();
  const exported = guestExports(defineFunction({ init() { throw new GuestError("ConfigMissing", "no table"); }, handle: () => 1 }));
  assert.deepEqual(thrown(() => exported.init()), { kind: "ConfigMissing", message: "no table" });
});
