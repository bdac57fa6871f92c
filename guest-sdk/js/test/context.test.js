import assert from "node:assert/strict";
import { test } from "node:test";
import { Context, WarmInfo } from "../src/index.js";
import { fakeHost, witContext } from "./support/helpers.js";

test("the context has Node's Lambda runtime names", () => {
  fakeHost();
  const ctx = new Context(witContext({ eventsHandled: 4n, cold: false, traceId: "Root=1-abc", tenantId: "t-9" }));
  assert.equal(ctx.awsRequestId, "req-1");
  assert.equal(ctx.functionName, "fn");
  assert.equal(ctx.functionVersion, "7");
  assert.equal(ctx.invokedFunctionArn, "arn:aws:lambda:eu-west-1:123456789012:function:fn");
  assert.equal(ctx.memoryLimitInMB, "256");
  assert.equal(ctx.eventsHandled, 4);
  assert.equal(ctx.cold, false);
  assert.equal(ctx.traceId, "Root=1-abc");
  assert.equal(ctx.tenantId, "t-9");
  const left = ctx.getRemainingTimeInMillis();
  assert.ok(left > 55_000 && left <= 60_000, `${left}`);
  assert.equal(new Context(witContext({ deadlineMs: 1n })).getRemainingTimeInMillis(), 0);
});

test("client context and identity are parsed JSON, absent or odd ones undefined", () => {
  fakeHost();
  const raw = '{"client":{"installation_id":"i-1"},"custom":{"n":1}}';
  const ctx = new Context(witContext({ clientContext: raw, cognitoIdentity: '{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}' }));
  assert.equal(ctx.clientContext.client.installation_id, "i-1");
  assert.deepEqual(ctx.clientContext.custom, { n: 1 });
  assert.equal(ctx.rawClientContext, raw);
  assert.deepEqual(ctx.identity, { cognitoIdentityId: "id", cognitoIdentityPoolId: "pool" });
  const none = new Context(witContext());
  assert.equal(none.clientContext, undefined);
  assert.equal(none.identity, undefined);
  assert.equal(new Context(witContext({ clientContext: "not json" })).clientContext, undefined);
});

test("log group, stream and region are asked of the host once", () => {
  const { calls } = fakeHost();
  const a = new Context(witContext());
  const b = new Context(witContext());
  assert.deepEqual([a.logGroupName, a.logStreamName, a.region, b.region], ["/aws/lambda/f", "2026/12/03/[$LATEST]abc", "eu-west-1", "eu-west-1"]);
  assert.ok(calls.length <= 1, "cached for the instance");
});

test("warm info", () => {
  const info = new WarmInfo({ environment: "e", correlationId: undefined, concurrency: 5, cold: true });
  assert.deepEqual({ ...info }, { environment: "e", correlationId: undefined, concurrency: 5, cold: true });
});
