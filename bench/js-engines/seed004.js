// Seed 004's request on the bare guest contract, for `host-bench js`'s
// engine comparison: the same source built with StarlingMonkey
// (componentize-js, what `wasm-lambda build` uses) and with QuickJS (jco's
// quickjs backend). No SDK and no TextEncoder (QuickJS has none): the
// events are ASCII JSON, converted by hand.
import { infer } from "wasm-lambda:guest/models@0.2.0";

function decode(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 1) s += String.fromCharCode(bytes[i]);
  return s;
}
function encode(text) {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) out[i] = text.charCodeAt(i);
  return out;
}
let seen = 0;
const fn = {
  init() {},
  handle(event, ctx) {
    seen += 1;
    const data = JSON.parse(decode(event)).data;
    const outputs = infer("seed_forest", [{ name: "input", shape: new BigUint64Array([1n, 4n]), data: { tag: "float32", val: new Float32Array(data) } }]);
    const label = Number(outputs[0].data.val[0]);
    return encode(JSON.stringify({ statusCode: 200, body: label, seen }));
  },
  warm(info) { return encode("null"); },
};
export { fn as function };
