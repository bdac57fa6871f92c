// The build command's refusals, each naming what to fix. (Guests that
// build are built and run by the real host in tests/js_guests.rs.)
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { BuildError, build, bundle, fetchEventApp } from "../src/build.js";

const work = mkdtempSync(join(tmpdir(), "wasm-lambda-build-test-"));
after(() => rmSync(work, { recursive: true, force: true }));

function app(name, source) {
  const path = join(work, name);
  writeFileSync(path, source);
  return path;
}

test("an app without a default export is refused at build time", async () => {
  const path = app("named.ts", 'import { defineFunction } from "wasm-lambda-sdk";\nexport const fn = defineFunction({ handle: () => 1 });\n');
  await assert.rejects(bundle(path), (error) => {
    assert.ok(error instanceof BuildError);
    assert.match(error.message, /named\.ts has no default export: end it with `export default defineFunction/);
    return true;
  });
});

test("an app with a fetch listener and no default export is an HTTP guest; others are not", async () => {
  const worker = app("worker.js", 'addEventListener("fetch", (e) => e.respondWith(new Response("hi")));\n');
  assert.match(await fetchEventApp(worker), /addEventListener\("fetch"/);
  // A default export makes it a guest of the contract, listener or not.
  const both = app("both.js", 'addEventListener("fetch", () => {});\nexport default { handle() { return 1; } };\n');
  assert.equal(await fetchEventApp(both), null);
  // Neither: not an HTTP guest (and refused as a contract guest, as before).
  const neither = app("neither.js", 'export const x = 1;\n');
  assert.equal(await fetchEventApp(neither), null);
  await assert.rejects(bundle(neither), /neither\.js has no default export/);
  // An HTTP guest needs the features fetch-event runs on.
  await assert.rejects(build(worker, join(work, "worker.wasm"), { disable: ["http"] }), /a fetch-event app needs http/);
});

test("a Node built-in is refused naming the module and the file", async () => {
  const path = app("fs.ts", 'import { readFileSync } from "node:fs";\nimport { defineFunction } from "wasm-lambda-sdk";\nexport default defineFunction({ handle: () => readFileSync("x") });\n');
  await assert.rejects(bundle(path), /fs\.ts:1:\d+: `node:fs` is a Node\.js built-in module: guests run in a WebAssembly sandbox/);
  const bare = app("crypto.js", 'import crypto from "crypto";\nexport default crypto;\n');
  await assert.rejects(bundle(bare), /`crypto` is a Node\.js built-in module/);
});

test("an app that does not parse or import is refused with esbuild's location", async () => {
  const broken = app("broken.ts", "export default defineFunction({ handle( => 1 });\n");
  await assert.rejects(bundle(broken), /broken\.ts does not build:\n.*broken\.ts:1:\d+:/);
  const missing = app("missing.ts", 'import x from "no-such-package";\nexport default x;\n');
  await assert.rejects(bundle(missing), /Could not resolve "no-such-package"/);
  await assert.rejects(build(join(work, "absent.ts"), join(work, "absent.wasm")), /absent\.ts: no such file/);
  await assert.rejects(build(app("notes.txt", ""), join(work, "notes.wasm")), /an app is a \.ts, \.mts, \.js or \.mjs module/);
});

test("a default export not made by defineFunction fails the component, saying so", async () => {
  const path = app("plain.js", "export default { handle() { return 1; } };\n");
  await assert.rejects(build(path, join(work, "plain.wasm")), (error) => {
    assert.ok(error instanceof BuildError, String(error));
    assert.match(error.message, /plain\.js's default export is not made by defineFunction/);
    return true;
  });
});

test("the command line says how to use it and exits non-zero on a failed build", () => {
  const cli = new URL("../bin/wasm-lambda.js", import.meta.url).pathname;
  const usage = spawnSync(process.execPath, [cli], { encoding: "utf8" });
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /Usage: wasm-lambda build/);
  const failed = spawnSync(process.execPath, [cli, "build", join(work, "absent.ts")], { encoding: "utf8" });
  assert.equal(failed.status, 1);
  assert.match(failed.stderr, /^wasm-lambda build: .*absent\.ts: no such file/);
});
