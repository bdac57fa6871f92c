// A fresh fake host per test (see fake-host.js): records log lines and
// answers config, environment and model calls from what the test gives.
export function fakeHost(overrides = {}) {
  const lines = [];
  const calls = [];
  globalThis.fakeHost = {
    log: (level, message) => lines.push([level, message]),
    config: (key) => ({ greeting: "hola" })[key],
    configEntries: () => [["greeting", "hola"]],
    environment: () => {
      calls.push("environment");
      return { logGroupName: "/aws/lambda/f", logStreamName: "2026/12/03/[$LATEST]abc", region: "eu-west-1" };
    },
    ...overrides,
  };
  return { lines, calls };
}

/** The contract's `context` record as componentize-js lifts it. */
export function witContext(fields = {}) {
  return {
    requestId: "req-1",
    deadlineMs: BigInt(Date.now() + 60_000),
    functionName: "fn",
    functionVersion: "7",
    invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:fn",
    memoryLimitMb: 256,
    guestName: "probe",
    cold: true,
    eventsHandled: 0n,
    traceId: undefined,
    clientContext: undefined,
    cognitoIdentity: undefined,
    tenantId: undefined,
    ...fields,
  };
}

export const bytes = (value) => new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));
export const json = (data) => JSON.parse(new TextDecoder().decode(data));
