// `defineFunction` (what an app's default export is) and the contract's
// `function` export built from it: JSON in and out, the hooks' errors and
// exceptions turned into the contract's `guest-error`.
//
// componentize-js maps a thrown plain object `{kind, message}` to the
// export's `err` value; anything else thrown out of an export traps the
// instance. So every path here ends in a value or in such an object.

import { Context, WarmInfo } from "./context.js";
import { GuestError } from "./errors.js";
import { log } from "./log.js";

const DEFINITION = Symbol.for("wasm-lambda.function");
const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/**
 * Declares the guest: `handle(event, ctx)` for each event, and optionally
 * `init()` once per instance and `warm(info)` on warmer pings. Export the
 * result as the module's default export.
 */
export function defineFunction(hooks) {
  if (hooks === null || typeof hooks !== "object") {
    throw new TypeError("defineFunction takes an object: { handle(event, ctx) { ... } }");
  }
  for (const name of ["handle", "init", "warm"]) {
    const hook = hooks[name];
    if (hook !== undefined && typeof hook !== "function") {
      throw new TypeError(`defineFunction: \`${name}\` must be a function, not ${typeof hook}`);
    }
  }
  if (typeof hooks.handle !== "function") {
    throw new TypeError("defineFunction needs a `handle(event, ctx)` function");
  }
  const unknown = Object.keys(hooks).filter((k) => !["handle", "init", "warm"].includes(k));
  if (unknown.length > 0) {
    throw new TypeError(`defineFunction: unknown hook ${unknown.map((k) => `\`${k}\``).join(", ")} (hooks: handle, init, warm)`);
  }
  return Object.freeze({ [DEFINITION]: true, handle: hooks.handle, init: hooks.init, warm: hooks.warm });
}

/**
 * The contract's `function` export for an app's default export. Called by
 * the entry module `wasm-lambda build` writes, when the guest is built, so
 * an app without a proper default export fails the build with this error.
 */
export function guestExports(app, source = "the app") {
  if (app === undefined) {
    throw new TypeError(`${source} has no default export: end it with \`export default defineFunction({ handle(event, ctx) { ... } })\``);
  }
  if (app === null || app[DEFINITION] !== true) {
    throw new TypeError(`${source}'s default export is not made by defineFunction: \`export default defineFunction({ handle(event, ctx) { ... } })\``);
  }
  let initialized = false;

  function runInit() {
    initialized = true;
    return app.init ? settle(call("init", () => app.init()), () => undefined) : undefined;
  }

  return {
    init() {
      return runInit();
    },

    handle(eventBytes, witContext) {
      if (!initialized) runInit(); // the host calls init first; kept for a clear order anyway
      let event;
      try {
        const text = decoder.decode(eventBytes);
        event = text.length === 0 ? null : JSON.parse(text);
      } catch (error) {
        throw failure("InvalidEvent", `the event is not JSON: ${error.message}`);
      }
      const ctx = new Context(witContext);
      return settle(call("handle", () => app.handle(event, ctx)), (answer) => encode(answer, "answer"));
    },

    warm(witInfo) {
      if (!initialized) runInit();
      if (!app.warm) return encoder.encode("null");
      const info = new WarmInfo(witInfo);
      return settle(call("warm", () => app.warm(info)), (answer) => encode(answer, "warm answer"));
    },
  };
}

/** Runs a hook: its value, a promise of it, or the contract error for
 * what it threw. */
function call(hook, run) {
  try {
    const value = run();
    if (value !== null && typeof value === "object" && typeof value.then === "function") {
      return Promise.resolve(value).catch((error) => {
        throw asFailure(error, hook);
      });
    }
    return value;
  } catch (error) {
    throw asFailure(error, hook);
  }
}

/** `then(value)` now, or once a promise settles (componentize-js runs the
 * event loop until the promise an export returns is settled). */
function settle(value, then) {
  if (value instanceof Promise) return value.then(then);
  return then(value);
}

function encode(answer, what) {
  let json;
  try {
    json = JSON.stringify(answer);
  } catch (error) {
    throw failure("InvalidOutput", `the ${what} is not JSON-serialisable: ${error.message}`);
  }
  // JSON.stringify(undefined) is undefined: no answer is null.
  return encoder.encode(json === undefined ? "null" : json);
}

/** The contract error for what a hook threw: a `GuestError` as itself,
 * anything else named after its class, its stack in the log. */
function asFailure(error, hook) {
  if (error instanceof GuestError) return failure(error.kind, error.message);
  if (isFailure(error)) return error;
  const kind = error instanceof Error ? error.constructor.name || error.name || "Error" : "Error";
  const text = error instanceof Error ? error.message || kind : describeThrown(error);
  try {
    log.error(`uncaught ${kind} in ${hook}: ${text}\n${error instanceof Error ? appStack(error.stack) : ""}`.trimEnd());
  } catch {
    // The answer matters more than the log line.
  }
  return failure(kind, `${text} (uncaught in ${hook}; stack in the log)`);
}

/** The stack's frames up to the SDK's own (`guestExports`, which called
 * the hook): the rest is this file and the engine's bindings. */
function appStack(stack) {
  const frames = String(stack ?? "").split("\n");
  const sdk = frames.findIndex((frame) => /^(async\*)?guestExports\b/.test(frame));
  return (sdk >= 0 ? frames.slice(0, sdk) : frames).join("\n");
}

function describeThrown(value) {
  try {
    return `a thrown ${typeof value}: ${typeof value === "string" ? value : JSON.stringify(value)}`;
  } catch {
    return `a thrown ${typeof value}`;
  }
}

const FAILURE = Symbol("wasm-lambda.failure");

function failure(kind, message) {
  const value = { kind: String(kind), message: String(message) };
  Object.defineProperty(value, FAILURE, { value: true });
  return value;
}

function isFailure(value) {
  return value !== null && typeof value === "object" && value[FAILURE] === true;
}
