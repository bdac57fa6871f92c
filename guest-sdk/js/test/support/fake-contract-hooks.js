// Module resolution hooks (see fake-contract.js).
const FAKE = new URL("./fake-host.js", import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier.startsWith("wasm-lambda:guest/")) return { url: FAKE, shortCircuit: true };
  return next(specifier, context);
}
