// A fetch-event app, as Spin's, Fastly's or a service worker's are written:
// no wasm-lambda API at all. `wasm-lambda build app.js` makes it a standard
// wasi:http/proxy component (no default export + a "fetch" listener), and
// the host turns HTTP events into its requests and its Response back into
// the answer API Gateway, Function URLs or an ALB expect.

// Lives as long as the instance. componentize-js's engine answers one
// fetch event per instance (as `wasmtime serve` and Spin use instances), so
// the host gives each request a fresh one and this is always 1: state that
// must outlive a request belongs in a store (DynamoDB, S3) reached by fetch.
let served = 0;

async function handle(request) {
  served += 1;
  const url = new URL(request.url);
  const route = url.pathname.replace(/^\/http-fetch-js/, "") || "/";
  const json = (status, body) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

  if (route === "/hello" && request.method === "GET") {
    return json(200, { message: `Hello, ${url.searchParams.get("name") ?? "world"}!` });
  }
  if (route === "/health" && request.method === "GET") {
    return json(200, { ok: true, served });
  }
  if (route === "/echo" && request.method === "POST") {
    // Bytes in, the same bytes out, whatever they are.
    const body = await request.arrayBuffer();
    return new Response(body, {
      headers: { "content-type": request.headers.get("content-type") ?? "application/octet-stream" },
    });
  }
  if (route === "/cookies") {
    const headers = new Headers({ "content-type": "text/plain" });
    headers.append("set-cookie", "theme=dark; Path=/");
    headers.append("set-cookie", "seen=1");
    return new Response("two cookies", { headers });
  }
  if (["/hello", "/health", "/echo"].includes(route)) {
    return json(405, { error: "method not allowed" });
  }
  return json(404, { error: `no route for ${request.method} ${route}` });
}

addEventListener("fetch", (event) => event.respondWith(handle(event.request)));
