import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

test("the SDK's copy of the contract is the released 0.2.0 file, byte for byte", () => {
  const copy = readFileSync(new URL("../wit/deps/wasm-lambda-guest/guest.wit", import.meta.url));
  const released = readFileSync(new URL("../../wit/0.2.0/guest.wit", import.meta.url));
  assert.ok(copy.equals(released), "guest-sdk/js/wit/deps/wasm-lambda-guest/guest.wit differs from guest-sdk/wit/0.2.0/guest.wit");
  const world = readFileSync(new URL("../wit/world.wit", import.meta.url), "utf8");
  assert.match(world, /include wasm-lambda:guest\/guest@0\.2\.0;/);
});
