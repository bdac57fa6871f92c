// What a hook knows about the invocation (or the warmer ping) it serves,
// under the names Node.js's Lambda runtime uses, so existing handlers port.

import { host } from "./contract.js";

let environmentCache;

/** The environment's log group, log stream and region: the same for the
 * life of the instance, so asked of the host once. */
function lambdaEnvironment() {
  if (environmentCache === undefined) environmentCache = host.environment();
  return environmentCache;
}

/** JSON as received, parsed; undefined when absent or not JSON (Node's
 * runtime fails the invocation instead; a guest should not). */
function parseJson(raw) {
  if (raw === undefined || raw === null) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** The invocation a `handle` call serves. */
export class Context {
  #wit;
  #clientContext;
  #identity;

  /** @param wit the contract's `context` record, as componentize-js lifts it */
  constructor(wit) {
    this.#wit = wit;
    /** The Lambda request id. */
    this.awsRequestId = wit.requestId;
    /** `AWS_LAMBDA_FUNCTION_NAME`. */
    this.functionName = wit.functionName;
    /** `AWS_LAMBDA_FUNCTION_VERSION`. */
    this.functionVersion = wit.functionVersion;
    /** The ARN the function was invoked with. */
    this.invokedFunctionArn = wit.invokedFunctionArn;
    /** The function's memory in MB, a string as in Node's runtime. */
    this.memoryLimitInMB = String(wit.memoryLimitMb);
    /** The X-Ray trace header as received, or undefined. */
    this.traceId = wit.traceId ?? undefined;
    /** The tenant id of a function in tenant isolation mode, or undefined. */
    this.tenantId = wit.tenantId ?? undefined;
    /** The name this guest is deployed under. */
    this.guestName = wit.guestName;
    /** True when this instance has handled no event before this one. */
    this.cold = wit.cold;
    /** Events this instance handled before this one. */
    this.eventsHandled = Number(wit.eventsHandled);
    /** Milliseconds since the Unix epoch when Lambda ends the invocation. */
    this.deadlineMs = Number(wit.deadlineMs);
  }

  /** Milliseconds left before Lambda ends the invocation (never negative). */
  getRemainingTimeInMillis() {
    return Math.max(0, this.deadlineMs - Date.now());
  }

  /** The client context the caller sent (parsed JSON, e.g.
   * `{client: {installation_id}, custom, env}`), or undefined. */
  get clientContext() {
    if (this.#clientContext === undefined) this.#clientContext = parseJson(this.#wit.clientContext);
    return this.#clientContext;
  }

  /** The Cognito identity (`{cognitoIdentityId, cognitoIdentityPoolId}`),
   * or undefined. */
  get identity() {
    if (this.#identity === undefined) this.#identity = parseJson(this.#wit.cognitoIdentity);
    return this.#identity;
  }

  /** `AWS_LAMBDA_LOG_GROUP_NAME` (empty outside Lambda). */
  get logGroupName() {
    return lambdaEnvironment().logGroupName;
  }

  /** `AWS_LAMBDA_LOG_STREAM_NAME` (empty outside Lambda). */
  get logStreamName() {
    return lambdaEnvironment().logStreamName;
  }

  /** `AWS_REGION` (empty outside Lambda). */
  get region() {
    return lambdaEnvironment().region;
  }

  /** The client context exactly as sent (JSON text), or undefined. */
  get rawClientContext() {
    return this.#wit.clientContext ?? undefined;
  }

  /** A plain object of the fields, for logging or answering. */
  toJSON() {
    return {
      awsRequestId: this.awsRequestId,
      functionName: this.functionName,
      functionVersion: this.functionVersion,
      invokedFunctionArn: this.invokedFunctionArn,
      memoryLimitInMB: this.memoryLimitInMB,
      traceId: this.traceId,
      tenantId: this.tenantId,
      guestName: this.guestName,
      cold: this.cold,
      eventsHandled: this.eventsHandled,
      deadlineMs: this.deadlineMs,
    };
  }
}

/** What a `warm` hook is told about a warmer ping. */
export class WarmInfo {
  constructor(wit) {
    /** Id of the Lambda environment (stable for the life of the process). */
    this.environment = wit.environment;
    /** The correlation id the warmer sent, or undefined. */
    this.correlationId = wit.correlationId ?? undefined;
    /** How many environments the warmer asked to keep warm. */
    this.concurrency = wit.concurrency;
    /** True when the ping is the environment's first event. */
    this.cold = wit.cold;
  }
}
