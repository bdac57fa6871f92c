// The TypeScript types hold for the apps written with them (the example,
// the test probe) and for every example in their doc comments.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The ```ts blocks of the JSDoc comments in `file`. */
function docExamples(file) {
  const text = readFileSync(join(root, file), "utf8");
  const blocks = [];
  for (const match of text.matchAll(/```ts\n([\s\S]*?)```/g)) {
    blocks.push(match[1].split("\n").map((l) => l.replace(/^\s*\* ?/, "")).join("\n"));
  }
  return blocks;
}

test("the example apps and every doc example type-check", () => {
  const examples = [...docExamples("types/index.d.ts"), ...docExamples("types/build.d.ts")];
  assert.ok(examples.length >= 7, `found ${examples.length} doc examples`);
  // Outside the repository: nothing under it changes when tests run.
  const folder = mkdtempSync(join(tmpdir(), "wasm-lambda-doc-examples-"));
  after(() => rmSync(folder, { recursive: true, force: true }));
  const files = examples.map((source, i) => {
    const name = `example-${i}.ts`;
    // Each example is its own module; `export {}` keeps it one.
    writeFileSync(join(folder, name), `${source}\nexport {};\n`);
    return join(folder, name);
  });
  const base = JSON.parse(readFileSync(join(root, "tsconfig.json"), "utf8"));
  writeFileSync(join(folder, "tsconfig.json"), JSON.stringify({
    compilerOptions: {
      ...base.compilerOptions,
      paths: { "wasm-lambda-sdk": [join(root, "types", "index.d.ts")], "wasm-lambda-sdk/build": [join(root, "types", "build.d.ts")] },
    },
    files: [...base.files.map((f) => join(root, f)), ...files],
  }));
  const tsc = spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(folder, "tsconfig.json")], { encoding: "utf8" });
  assert.equal(tsc.status, 0, `tsc:\n${tsc.stdout}${tsc.stderr}`);
});
