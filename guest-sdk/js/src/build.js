// `wasm-lambda build`: an app (TypeScript or JavaScript) and its npm
// dependencies bundled by esbuild into one ES module, made into a
// WebAssembly component for the guest contract by componentize-js
// (StarlingMonkey). Runs offline once `npm install` has run.

import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const SDK_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const WORLD = "js-guest";
/** The standard wasi:http/proxy world, for fetch-event apps. */
const HTTP_WORLD = "http-guest";

/** A build that did not produce a component; `message` says why. */
export class BuildError extends Error {
  constructor(message) {
    super(message);
    this.name = "BuildError";
  }
}

/** The module esbuild starts from: the app's default export made into the
 * contract's `function` export (checked when the component is made). */
function entrySource(appPath) {
  return [
    `import app from ${JSON.stringify(appPath)};`,
    `import { guestExports } from "wasm-lambda-sdk/function";`,
    `const exported = guestExports(app, ${JSON.stringify(basename(appPath))});`,
    `export { exported as function };`,
    "",
  ].join("\n");
}

/** `wasm-lambda-sdk` is always this SDK (the one whose WIT the component is
 * built for), wherever the app's own node_modules points. */
const sdkPlugin = {
  name: "wasm-lambda-sdk",
  setup(build) {
    build.onResolve({ filter: /^wasm-lambda-sdk(\/function)?$/ }, (args) => ({
      path: join(SDK_ROOT, "src", args.path.endsWith("/function") ? "function.js" : "index.js"),
    }));
  },
};

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Node's built-in modules do not exist in a guest: say so at build time,
 * naming the importer, rather than failing at run time. */
const nodeBuiltinsPlugin = {
  name: "node-builtins",
  setup(build) {
    build.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      if (!NODE_BUILTINS.has(args.path) && !args.path.startsWith("node:")) return undefined;
      return {
        errors: [{
          text: `\`${args.path}\` is a Node.js built-in module: guests run in a WebAssembly sandbox without Node's APIs `
            + "(use fetch for HTTP, config() for settings, log or console for logs; a package that needs Node's APIs cannot run in a guest)",
        }],
      };
    });
  },
};

function describeEsbuildErrors(errors, appPath) {
  return errors.map((e) => {
    let text = e.text;
    if (/No matching export in .* for import "default"/.test(text)) {
      text = `${basename(appPath)} has no default export: end it with \`export default defineFunction({ handle(event, ctx) { ... } })\` (or, for an HTTP guest, export nothing and call \`addEventListener("fetch", ...)\`)`;
    }
    const where = e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ` : "";
    return `${where}${text}`;
  }).join("\n");
}

/** How every app is bundled: one ES module for StarlingMonkey. */
const BUNDLE_OPTIONS = {
  bundle: true,
  write: false,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  mainFields: ["module", "main"],
  conditions: ["worker", "browser"],
  external: ["wasm-lambda:*", "wasi:*"],
  // Class names survive bundling: uncaught errors answer with them.
  keepNames: true,
  logLevel: "silent",
};

/** esbuild's result for `options` on top of the shared ones; its errors
 * become a BuildError naming the app and each error's place. */
async function runEsbuild(appPath, options) {
  const esbuild = await import("esbuild");
  try {
    return await esbuild.build({ ...BUNDLE_OPTIONS, ...options });
  } catch (error) {
    if (Array.isArray(error.errors) && error.errors.length > 0) {
      throw new BuildError(`${appPath} does not build:\n${describeEsbuildErrors(error.errors, appPath)}`);
    }
    throw error;
  }
}

/** The app and its dependencies as one ES module (text); with
 * `withoutSdk`, the SDK left out (to see what the app itself uses). */
export async function bundle(appPath, { withoutSdk = false } = {}) {
  const result = await runEsbuild(appPath, {
    stdin: withoutSdk
      ? { contents: `import app from ${JSON.stringify(appPath)};\nexport default app;\n`, resolveDir: dirname(appPath), sourcefile: "wasm-lambda-entry.js", loader: "js" }
      : { contents: entrySource(appPath), resolveDir: dirname(appPath), sourcefile: "wasm-lambda-entry.js", loader: "js" },
    external: [...BUNDLE_OPTIONS.external, ...(withoutSdk ? ["wasm-lambda-sdk", "wasm-lambda-sdk/*"] : [])],
    plugins: withoutSdk ? [nodeBuiltinsPlugin] : [sdkPlugin, nodeBuiltinsPlugin],
  });
  return result.outputFiles[0].text;
}

/** A fetch-event app (Spin's, Fastly's, a Cloudflare-style worker's):
 * no default export, and a `fetch` listener. Such an app is an HTTP guest,
 * the standard wasi:http/proxy component; answers its bundle, or `null`
 * for an app of the guest contract. */
export async function fetchEventApp(appPath) {
  const result = await runEsbuild(appPath, {
    entryPoints: [appPath],
    metafile: true,
    plugins: [nodeBuiltinsPlugin],
  });
  const [output] = Object.values(result.metafile.outputs);
  const text = result.outputFiles[0].text;
  if (output.exports.includes("default")) return null;
  return /\baddEventListener\s*\(\s*["'`]fetch["'`]/.test(text) ? text : null;
}

/** componentize-js's message for an app whose module fails to evaluate
 * (a throw at the top level, a bad default export): the exception's line,
 * without wizer's preamble and the repeated rejection notes. */
function describeComponentizeError(error) {
  const text = String(error && error.message ? error.message : error);
  const lines = text.split("\n");
  const at = lines.findIndex((l) => l.includes("Exception while evaluating top-level script"));
  if (at >= 0 && lines[at + 1]) {
    const stack = lines.slice(lines.indexOf("Stack:") + 1).filter((l) => l.trim()).slice(0, 5);
    return [`the app threw while loading: ${lines[at + 1]}`, ...stack].join("\n");
  }
  return text;
}

/**
 * Builds the guest at `app` into the component `out`: a guest of the
 * contract (the app's default export), or an HTTP guest (an app with no
 * default export that calls `addEventListener("fetch", …)`: the standard
 * wasi:http/proxy component).
 *
 * Options: `disable` (extra WASI features to leave out: stdio, random,
 * clocks, http). Answers `{bytes, bundleBytes, seconds, disabled, kind}`
 * (`kind`: "function" or "http").
 */
export async function build(app, out, { disable = [] } = {}) {
  const started = performance.now();
  const appPath = resolve(app);
  try {
    await stat(appPath);
  } catch {
    throw new BuildError(`${app}: no such file`);
  }
  if (![".js", ".mjs", ".ts", ".mts"].includes(extname(appPath))) {
    throw new BuildError(`${app}: an app is a .ts, .mts, .js or .mjs module`);
  }
  const httpSource = await fetchEventApp(appPath);
  const kind = httpSource === null ? "function" : "http";
  let source;
  const disabled = new Set(disable);
  if (httpSource !== null) {
    // fetch-event answers incoming requests through wasi:http.
    for (const needed of ["http", "fetch-event"]) {
      if (disabled.has(needed)) throw new BuildError(`${app}: a fetch-event app needs ${needed}; it cannot be left out`);
    }
    // The engine's one FetchEvent answers one request: the export tells
    // the host to give each request a fresh instance.
    source = `${httpSource}\nexport const instances = { oneRequestPerInstance() { return true; } };\n`;
  } else {
    source = await bundle(appPath);
    // Leave out what the guest cannot use: it serves the contract, not
    // incoming HTTP (fetch-event), and when neither the app nor its
    // dependencies mention fetch it needs no wasi:http either (the SDK's
    // own fetch wrapper does not count).
    disabled.add("fetch-event");
    if (!/\bfetch\b/.test(await bundle(appPath, { withoutSdk: true }))) disabled.add("http");
  }

  const work = await mkdtemp(join(tmpdir(), "wasm-lambda-build-"));
  try {
    // Named after the app: stack traces in the log name this file.
    const bundlePath = join(work, `${basename(appPath, extname(appPath))}.js`);
    await writeFile(bundlePath, source);
    const { componentize } = await import("@bytecodealliance/componentize-js");
    let component;
    try {
      ({ component } = await componentize({
        sourcePath: bundlePath,
        witPath: join(SDK_ROOT, kind === "http" ? "wit-http" : "wit"),
        worldName: kind === "http" ? HTTP_WORLD : WORLD,
        disableFeatures: [...disabled],
      }));
    } catch (error) {
      throw new BuildError(`${app}: componentize-js could not make the component:\n${describeComponentizeError(error)}`);
    }
    try {
      await mkdir(dirname(resolve(out)), { recursive: true });
      await writeFile(out, component);
    } catch (error) {
      throw new BuildError(`cannot write ${out}: ${error.message}`);
    }
    return {
      bytes: component.length,
      bundleBytes: Buffer.byteLength(source),
      seconds: (performance.now() - started) / 1000,
      disabled: [...disabled].sort(),
      kind,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The SDK's WIT folder (the contract and the JS guest world). */
export const witPath = join(SDK_ROOT, "wit");
