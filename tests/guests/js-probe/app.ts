// `js-probe`: a JavaScript guest that exercises every service of the JS
// SDK, one `mode` per event, for the tests (tests/js_guests.rs).
//
// Module state is the instance's state: `handled` and `pings` count what
// this instance saw, so the tests tell warm invocations (state kept), pings
// (handle never runs) and new instances (state reset) apart.

import ms from "ms"; // an npm dependency (CommonJS), bundled by the build
import { config, configEntries, Context, defineFunction, GuestError, log, models } from "wasm-lambda-sdk";
import { shout } from "./helpers.js";

let handled = 0;
let pings = 0;
let initialized = 0;

function context(ctx: Context) {
  return {
    awsRequestId: ctx.awsRequestId,
    functionName: ctx.functionName,
    functionVersion: ctx.functionVersion,
    invokedFunctionArn: ctx.invokedFunctionArn,
    memoryLimitInMB: ctx.memoryLimitInMB,
    guestName: ctx.guestName,
    cold: ctx.cold,
    eventsHandled: ctx.eventsHandled,
    remainingMs: ctx.getRemainingTimeInMillis(),
  };
}

function caught(call: () => unknown) {
  try {
    call();
  } catch (error) {
    if (error instanceof models.ModelError) {
      return { caught: error.constructor.name, kind: error.kind, message: error.message, isModelError: true };
    }
    return { caught: String(error), isModelError: false };
  }
  return { caught: null };
}

interface ProbeEvent {
  mode?: string;
  [key: string]: any;
}

async function fetchMode(event: ProbeEvent) {
  const init: RequestInit = event.json === undefined ? {} : {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(event.json),
  };
  try {
    const response = await fetch(event.url, init);
    const body = await response.text();
    return { status: response.status, body, length: body.length, type: response.headers.get("content-type") };
  } catch (error: any) {
    return { error: error?.constructor?.name, message: String(error?.message ?? error) };
  }
}

export default defineFunction({
  init() {
    initialized += 1;
  },

  async handle(event: ProbeEvent, ctx) {
    handled += 1;
    const mode = event?.mode ?? "count";
    switch (mode) {
      case "count":
        return { handled, pings, initialized, context: context(ctx) };
      case "context":
        return {
          traceId: ctx.traceId ?? null,
          tenantId: ctx.tenantId ?? null,
          clientContext: ctx.clientContext ?? null,
          identity: ctx.identity ?? null,
          logGroupName: ctx.logGroupName,
          region: ctx.region,
        };
      case "guest-error":
        throw new GuestError("ValidationError", "quantity must be positive");
      case "crash":
        return (event.missing as any).field; // TypeError, uncaught
      case "throw-string":
        throw "just a string";
      case "async-error":
        await new Promise((resolve) => setTimeout(resolve, 5));
        throw new RangeError("too far, after a wait");
      case "async-guest-error":
        await Promise.resolve();
        throw new GuestError("Conflict", "order already shipped");
      case "wait":
        await new Promise((resolve) => setTimeout(resolve, event.ms ?? 20));
        return { waited: event.ms ?? 20, handled };
      case "never":
        // A promise nothing will ever settle: the event loop runs dry.
        return new Promise(() => {});
      case "spin": {
        // Busy until the host's deadline stops it.
        let n = 0;
        for (;;) n += 1;
      }
      case "dynamodb": {
        // An UpdateItem the host signs (guests.toml `aws = ["dynamodb"]`):
        // the guest sends no credentials.
        const response = await fetch(`${config("endpoint")}/`, {
          method: "POST",
          headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810.UpdateItem" },
          body: JSON.stringify({
            TableName: config("table"),
            Key: { path: { S: event.path } },
            UpdateExpression: "ADD visits :one",
            ExpressionAttributeValues: { ":one": { N: "1" } },
            ReturnValues: "UPDATED_NEW",
          }),
        });
        const text = await response.text();
        if (!response.ok) throw new GuestError("DynamoDBError", `${text.slice(0, 200)} (status ${response.status})`);
        return { visits: Number(JSON.parse(text).Attributes.visits.N) };
      }
      case "not-json":
        return { big: 10n };
      case "undefined":
        return undefined;
      case "log":
        log.info("probe info for", ctx.awsRequestId);
        console.warn("probe warning through console");
        console.log("probe console.log", { n: 1 });
        log.debug("probe debug");
        return { logged: true, requestId: ctx.awsRequestId };
      case "config":
        return { greeting: config("greeting"), missing: config("nope", "fallback"), entries: configEntries() };
      case "deps":
        return { helper: shout("hi"), ms: ms(60000), parsed: ms("2h") };
      case "classify": {
        const { labels, probabilities } = new models.Model("seed_forest").classify(event.rows);
        return { labels, probabilities };
      }
      case "predict":
        return { values: new models.Model(event.model).predict(event.rows) };
      case "infer": {
        const rows: number[][] = event.rows;
        const typed = rows.map((row) => Float32Array.from(row));
        const flat = new models.Tensor(Float32Array.from(rows.flat()), { shape: [rows.length, rows[0].length] });
        return {
          nested: models.infer("seed_forest", { input: rows }),
          typed: models.infer("seed_forest", { input: typed }),
          tensor: models.infer("seed_forest", { input: flat }),
          unnamed: models.infer("seed_forest", rows),
        };
      }
      case "churn": {
        const columns = event.inputs;
        const { labels, probabilities } = new models.Model("churn").classify(columns);
        return { labels, probabilities, infer: models.infer("churn", columns) };
      }
      case "describe":
        return {
          info: new models.Model(event.model).describe(),
          models: models.list(),
          unknown: caught(() => models.describe("no_such_model")),
        };
      case "model-errors":
        return {
          unknown: caught(() => new models.Model("no_such_model").classify([[0, 0, 0, 0]])),
          width: caught(() => new models.Model("seed_forest").classify([[0, 0, 0]])),
          ragged: caught(() => new models.Model("seed_forest").classify([[0, 0, 0, 0], [1]])),
          name: caught(() => models.infer("seed_forest", { wrong: [[0, 0, 0, 0]] })),
          dtype: caught(() => models.infer("seed_forest", { input: new models.Tensor([[0, 0, 0, 0]], { type: "int64" }) })),
          strings: caught(() => new models.Model("seed_forest").classify([["a", "b", "c", "d"]])),
          isUnknown: caught(() => models.infer("no_such_model", [[1]])).caught === "UnknownModel",
        };
      case "http":
        return fetchMode(event);
      case "http-many": {
        const results = [];
        for (const url of event.urls as string[]) results.push(await fetchMode({ url }));
        return { results };
      }
      default:
        throw new GuestError("UnknownMode", `no mode ${JSON.stringify(mode)}`);
    }
  },

  warm(info) {
    pings += 1;
    return { pings, handled, environment: info.environment, correlationId: info.correlationId ?? null, concurrency: info.concurrency };
  },
});
