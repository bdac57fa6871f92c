// Log lines through the host: they land in CloudWatch as the host's own
// JSON lines, tagged with the guest and the request id, at their level.
// `console.*` is routed here too (see routeConsole), so code written for
// Node's Lambda runtime logs the same way.

import { host } from "./contract.js";

/** Writes the arguments as one line, the way console.log joins them. */
function write(level, args) {
  host.log(level, format(args));
}

/**
 * One line from console-style arguments: strings as they are, errors by
 * their stack, other values as JSON (or their string form when JSON cannot
 * hold them), separated by spaces.
 */
export function format(args) {
  return args.map(formatOne).join(" ");
}

function formatOne(value) {
  if (typeof value === "string") return value;
  if (value instanceof Error) return value.stack ? `${value}\n${value.stack}`.trimEnd() : String(value);
  if (typeof value === "bigint") return `${value}n`;
  if (value === undefined || typeof value === "function" || typeof value === "symbol") {
    return String(value);
  }
  try {
    const json = JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? `${v}n` : v));
    return json === undefined ? String(value) : json;
  } catch {
    return String(value); // circular structures
  }
}

/** Log lines at each level, e.g. `log.info("order", id, "accepted")`. */
export const log = Object.freeze({
  trace: (...args) => write("trace", args),
  debug: (...args) => write("debug", args),
  info: (...args) => write("info", args),
  warn: (...args) => write("warn", args),
  error: (...args) => write("error", args),
});

/**
 * Makes `console.*` write through the host at the matching level
 * (`console.log`/`info` info, `debug` debug, `trace` trace, `warn` warn,
 * `error` error). The engine's own console would write to stdout or
 * stderr, which the host logs as info whatever was meant.
 */
export function routeConsole(target = globalThis.console) {
  const levels = { log: "info", info: "info", debug: "debug", trace: "trace", warn: "warn", error: "error" };
  for (const [method, level] of Object.entries(levels)) {
    target[method] = (...args) => write(level, args);
  }
}
