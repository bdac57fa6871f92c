import assert from "node:assert/strict";
import { test } from "node:test";
import { config, configEntries, format, log } from "../src/index.js";
import { routeConsole } from "../src/log.js";
import { fakeHost } from "./support/helpers.js";

test("log lines go to the host at their level, joined as console joins them", () => {
  const { lines } = fakeHost();
  log.info("order", 42, { ok: true });
  log.trace("t");
  log.debug("d");
  log.warn("w");
  log.error(new TypeError("bad"));
  assert.deepEqual(lines.slice(0, 4), [["info", 'order 42 {"ok":true}'], ["trace", "t"], ["debug", "d"], ["warn", "w"]]);
  assert.equal(lines[4][0], "error");
  assert.match(lines[4][1], /^TypeError: bad\n/);
});

test("format survives values JSON cannot hold", () => {
  const circular = {};
  circular.self = circular;
  assert.equal(format([1n, undefined, circular, null]), "1n undefined [object Object] null");
});

test("console methods are routed to the host at their level", () => {
  const { lines } = fakeHost();
  const target = {};
  routeConsole(target);
  target.log("a");
  target.info("b");
  target.debug("c");
  target.trace("d");
  target.warn("e");
  target.error("f");
  assert.deepEqual(lines, [["info", "a"], ["info", "b"], ["debug", "c"], ["trace", "d"], ["warn", "e"], ["error", "f"]]);
});

test("config reads the host's values with a fallback", () => {
  fakeHost();
  assert.equal(config("greeting"), "hola");
  assert.equal(config("missing"), undefined);
  assert.equal(config("missing", "fallback"), "fallback");
  assert.deepEqual(configEntries(), [["greeting", "hola"]]);
});

test("a failed fetch names the URL and where the host's reason is, still a TypeError", async () => {
  const { explainFetchErrors } = await import("../src/fetch.js");
  const target = { fetch: async () => { throw new TypeError("NetworkError when attempting to fetch resource"); } };
  explainFetchErrors(target);
  await assert.rejects(target.fetch("http://127.0.0.1:9/x"), (error) => {
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /^fetch http:\/\/127\.0\.0\.1:9\/x: NetworkError .*the host's log line for this request says why/);
    assert.equal(error.cause.message, "NetworkError when attempting to fetch resource");
    return true;
  });
  const ok = { fetch: async (url) => ({ status: 200, url }) };
  explainFetchErrors(ok);
  assert.deepEqual(await ok.fetch("http://a/"), { status: 200, url: "http://a/" });
  class Response {
    constructor(url) { this.url = url; }
    async text() { throw new TypeError("IO error reading from incoming response body"); }
    async json() { throw new SyntaxError("JSON.parse: unexpected character"); }
  }
  const engine = { fetch: async () => new Response("http://a/huge"), Response };
  explainFetchErrors(engine);
  const response = await engine.fetch("http://a/huge");
  await assert.rejects(response.text(), /^TypeError: reading the response body of http:\/\/a\/huge: IO error .*outbound_response_limit_mb/);
  await assert.rejects(response.json(), SyntaxError);
  const none = {};
  explainFetchErrors(none);
  assert.equal(none.fetch, undefined, "no fetch without the http feature");
});
