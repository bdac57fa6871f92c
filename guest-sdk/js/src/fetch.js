// The engine's `fetch` (StarlingMonkey's, over wasi:http: the host applies
// this guest's outbound list, its pooled connections, timeouts and caps,
// and signs AWS calls it is granted). Its failures read only "NetworkError
// when attempting to fetch resource" or "IO error reading from incoming
// response body"; these wrappers keep the same TypeError but say which URL
// and where the host's reason is (its log names the call).

const WHY =
  "the host's log line for this request says why (a destination not on this guest's `outbound` list "
  + "in guests.toml, a response over `outbound_response_limit_mb`, the guest's deadline, or the server)";

function explained(what, error) {
  return new TypeError(`${what}: ${error.message}; ${WHY}`, { cause: error });
}

/** Wraps `target.fetch` and the body readers of `target.Response` (when
 * the engine has them: not when the guest was built without the http
 * feature). */
export function explainFetchErrors(target = globalThis) {
  const engineFetch = target.fetch;
  if (typeof engineFetch !== "function") return;
  target.fetch = async function fetch(input, init) {
    try {
      return await engineFetch(input, init);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input?.url;
      throw explained(`fetch ${url}`, error);
    }
  };
  const prototype = target.Response?.prototype;
  if (!prototype) return;
  for (const reader of ["arrayBuffer", "blob", "bytes", "formData", "json", "text"]) {
    const read = prototype[reader];
    if (typeof read !== "function") continue;
    prototype[reader] = async function readBody() {
      try {
        return await read.call(this);
      } catch (error) {
        // A JSON body that does not parse is a SyntaxError: left as it is.
        if (!(error instanceof TypeError)) throw error;
        throw explained(`reading the response body of ${this.url}`, error);
      }
    };
  }
}
