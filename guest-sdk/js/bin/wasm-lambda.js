#!/usr/bin/env node
// The SDK's command line: `wasm-lambda build app.ts -o app.wasm`.

import { parseArgs } from "node:util";
import { BuildError, build } from "../src/build.js";

const USAGE = `Usage: wasm-lambda build <app.ts|app.js> -o <out.wasm> [--disable FEATURE]... [--quiet]

Bundles the app and its npm dependencies (esbuild) and makes the guest
component (componentize-js): for the wasm-lambda guest contract when the
app's default export is its function, or a standard wasi:http/proxy
component (an HTTP guest) when the app has no default export and calls
addEventListener("fetch", ...).

  -o, --out FILE       the component to write (default: the app's name with .wasm)
  --disable FEATURE    leave out a WASI feature the guest does not use:
                       stdio, random, clocks, http (http is left out by itself
                       when the app never mentions fetch)
  -q, --quiet          print nothing on success
`;

async function main(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: "string", short: "o" },
        disable: { type: "string", multiple: true },
        quiet: { type: "boolean", short: "q" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    process.stderr.write(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [command, app, ...rest] = positionals;
  if (command !== "build" || !app || rest.length > 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  const out = values.out ?? app.replace(/\.(m?[jt]s)$/, "") + ".wasm";
  try {
    const result = await build(app, out, { disable: values.disable ?? [] });
    if (!values.quiet) {
      const mb = (result.bytes / 1e6).toFixed(1);
      const what = result.kind === "http" ? "HTTP guest (wasi:http/proxy)" : "component";
      const left = result.disabled.length > 0 ? result.disabled.join(", ") : "nothing";
      process.stdout.write(`built ${out} (${mb} MB ${what}, ${result.seconds.toFixed(1)} s; left out: ${left})\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof BuildError) {
      process.stderr.write(`wasm-lambda build: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
