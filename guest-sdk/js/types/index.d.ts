/**
 * Write wasm-lambda guests in JavaScript or TypeScript.
 *
 * An app's default export is {@link defineFunction}; `wasm-lambda build
 * app.ts -o app.wasm` bundles it with its npm dependencies and makes the
 * WebAssembly component the host runs.
 *
 * @example
 * ```ts
 * import { defineFunction, GuestError, models } from "wasm-lambda-sdk";
 *
 * const forest = new models.Model("seed_forest");
 * let seen = 0;
 *
 * export default defineFunction({
 *   handle(event: { data: number[] }, ctx) {
 *     seen += 1; // module state lives as long as the instance
 *     if (event.data.length !== 4) throw new GuestError("ValidationError", "four features");
 *     const { labels } = forest.classify([event.data]);
 *     return { statusCode: 200, body: labels[0], seen, left: ctx.getRemainingTimeInMillis() };
 *   },
 * });
 * ```
 *
 * @packageDocumentation
 */

/** The contract version this SDK builds guests for: `wasm-lambda:guest@0.2.0`. */
export declare const CONTRACT: string;

/** Any value `JSON.stringify` can write. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A value, or a promise of it: every hook may be sync or async. */
export type MaybePromise<T> = T | Promise<T>;

/** The hooks of a guest. */
export interface FunctionHooks<Event = any, Answer = unknown, WarmAnswer = unknown> {
  /**
   * Called once per instance before its first event (optional). A throw
   * fails the instance's init with that error.
   */
  init?(): MaybePromise<void>;
  /**
   * Handles one event: `event` is the decoded JSON, the answer any value
   * `JSON.stringify` can write (undefined answers null). Throw a
   * {@link GuestError} to answer with an error; any other exception answers
   * as an error named after its class, with the stack in the log.
   */
  handle(event: Event, ctx: Context): MaybePromise<Answer>;
  /**
   * Called on warmer pings instead of `handle` (optional; without it a
   * ping answers null). Keep it cheap: it keeps an environment warm.
   */
  warm?(info: WarmInfo): MaybePromise<WarmAnswer>;
}

/** What {@link defineFunction} returns: the app's default export. */
export interface FunctionDefinition {
  readonly handle: FunctionHooks["handle"];
  readonly init?: FunctionHooks["init"];
  readonly warm?: FunctionHooks["warm"];
}

/**
 * Declares the guest. Export the result as the module's default export.
 *
 * @example
 * ```ts
 * import { defineFunction } from "wasm-lambda-sdk";
 *
 * export default defineFunction({
 *   async handle(event: { name?: string }) {
 *     return { message: `Hello, ${event.name ?? "world"}!` };
 *   },
 * });
 * ```
 */
export declare function defineFunction<Event = any, Answer = unknown, WarmAnswer = unknown>(
  hooks: FunctionHooks<Event, Answer, WarmAnswer>,
): FunctionDefinition;

/**
 * An error the guest answers with on purpose: Lambda reports it as
 * `GuestError` with this `kind` and `message`; the instance, with its
 * module state, keeps serving.
 *
 * @example
 * ```ts
 * import { GuestError } from "wasm-lambda-sdk";
 * function quantity(event: { quantity: number }): number {
 *   if (event.quantity <= 0) throw new GuestError("ValidationError", "quantity must be positive");
 *   return event.quantity;
 * }
 * ```
 */
export declare class GuestError extends Error {
  /** @param kind short machine-readable kind, e.g. `ValidationError` */
  constructor(kind: string, message: string);
  readonly kind: string;
}

/** The client context a caller sent (the AWS mobile SDKs do), as JSON. */
export interface ClientContext {
  client?: {
    installation_id?: string;
    app_title?: string;
    app_version_name?: string;
    app_version_code?: string;
    app_package_name?: string;
  };
  custom?: Record<string, unknown>;
  env?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The Cognito identity of the caller. */
export interface CognitoIdentity {
  cognitoIdentityId?: string;
  cognitoIdentityPoolId?: string;
  [key: string]: unknown;
}

/**
 * The invocation a `handle` call serves, under the names of Node.js's
 * Lambda runtime (so handlers port), plus the guest's own facts.
 */
export declare class Context {
  private constructor();
  /** The Lambda request id. */
  readonly awsRequestId: string;
  /** `AWS_LAMBDA_FUNCTION_NAME`. */
  readonly functionName: string;
  /** `AWS_LAMBDA_FUNCTION_VERSION`. */
  readonly functionVersion: string;
  /** The ARN the function was invoked with. */
  readonly invokedFunctionArn: string;
  /** The function's memory in MB: a string, as in Node's runtime. */
  readonly memoryLimitInMB: string;
  /** The X-Ray trace header as received. */
  readonly traceId: string | undefined;
  /** The tenant id of a function in tenant isolation mode. */
  readonly tenantId: string | undefined;
  /** The name this guest is deployed under. */
  readonly guestName: string;
  /** True when this instance has handled no event before this one. */
  readonly cold: boolean;
  /** Events this instance handled before this one. */
  readonly eventsHandled: number;
  /** When Lambda ends the invocation, in milliseconds since the Unix epoch. */
  readonly deadlineMs: number;
  /** Milliseconds left before Lambda ends the invocation. */
  getRemainingTimeInMillis(): number;
  /** The client context the caller sent, parsed (undefined when absent or not JSON). */
  readonly clientContext: ClientContext | undefined;
  /** The client context exactly as sent. */
  readonly rawClientContext: string | undefined;
  /** The caller's Cognito identity (undefined when absent or not JSON). */
  readonly identity: CognitoIdentity | undefined;
  /** `AWS_LAMBDA_LOG_GROUP_NAME` (empty outside Lambda). */
  readonly logGroupName: string;
  /** `AWS_LAMBDA_LOG_STREAM_NAME` (empty outside Lambda). */
  readonly logStreamName: string;
  /** `AWS_REGION` (empty outside Lambda). */
  readonly region: string;
  /** The fields as a plain object. */
  toJSON(): Record<string, unknown>;
}

/** What a `warm` hook is told about a warmer ping. */
export declare class WarmInfo {
  private constructor();
  /** Id of the Lambda environment (stable for the life of the process). */
  readonly environment: string;
  /** The correlation id the warmer sent. */
  readonly correlationId: string | undefined;
  /** How many environments the warmer asked to keep warm. */
  readonly concurrency: number;
  /** True when the ping is the environment's first event. */
  readonly cold: boolean;
}

/**
 * One value of this guest's configuration (its `config` table in
 * guests.toml), or `fallback` when unset.
 *
 * @example
 * ```ts
 * import { config } from "wasm-lambda-sdk";
 * const model: string = config("model", "seed_forest");
 * const greeting: string | undefined = config("greeting");
 * ```
 */
export declare function config(key: string): string | undefined;
export declare function config(key: string, fallback: string): string;

/** All of this guest's configuration as `[key, value]` pairs, sorted by key. */
export declare function configEntries(): [string, string][];

/** A log function: arguments joined as console.log joins them. */
export type LogFunction = (...args: unknown[]) => void;

/**
 * Log lines through the host: they land in CloudWatch tagged with the
 * guest and the request id, at their level. `console.*` goes the same way.
 *
 * @example
 * ```ts
 * import { log } from "wasm-lambda-sdk";
 * log.info("order", 42, "accepted");
 * log.warn("slow model call", { ms: 120 });
 * ```
 */
export declare const log: {
  readonly trace: LogFunction;
  readonly debug: LogFunction;
  readonly info: LogFunction;
  readonly warn: LogFunction;
  readonly error: LogFunction;
};

/** How log functions join their arguments into one line. */
export declare function format(args: unknown[]): string;

/**
 * The ONNX models the host loaded at init, called by name.
 *
 * @example
 * ```ts
 * import { models } from "wasm-lambda-sdk";
 *
 * const forest = new models.Model("seed_forest"); // no host call yet
 * function predict(features: number[]) {
 *   try {
 *     return forest.classify([features]).labels[0];
 *   } catch (error) {
 *     if (error instanceof models.InvalidInput) return null;
 *     throw error;
 *   }
 * }
 * ```
 */
export declare namespace models {
  /** Element types of model inputs and outputs. */
  type ElementType = "float32" | "float64" | "int32" | "int64" | "uint8" | "bool" | "string";

  /** Numbers, typed arrays, booleans or strings, nested by dimension. */
  type Values =
    | number | bigint | boolean | string
    | Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array
    | Values[];

  /** An input value: nested arrays or typed arrays, or a {@link Tensor}. */
  type Input = Values | Tensor;

  /** Values with an explicit shape and element type. */
  class Tensor {
    /**
     * @param values flat (row-major) values or nested arrays
     * @param options shape (from nested arrays when left out) and type
     *   (from a typed array or the values when left out)
     */
    constructor(values: Values, options?: { shape?: number[]; type?: ElementType });
    /** Row-major values: a typed array for numbers, an array for bool and string. */
    readonly values: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | boolean[] | string[];
    readonly shape: number[];
    readonly type: ElementType;
    /** The values nested by shape, int64 as numbers. */
    toArray(): any;
  }

  /** A model input or output. */
  interface TensorInfo {
    name: string;
    /** An {@link ElementType}, or the name of one guests cannot use (e.g. `float16`). */
    type: ElementType | string;
    /** A number per fixed dimension; the model's name for one known only when it runs (e.g. "N"). */
    shape: (number | string)[];
  }

  /** What a model takes and gives. */
  interface ModelInfo {
    name: string;
    inputs: TensorInfo[];
    outputs: TensorInfo[];
  }

  /** A classifier's answer: one label and one row of class scores per row. */
  interface Classification {
    labels: (number | string)[];
    probabilities: number[][];
  }

  /** Rows of features: arrays (or typed arrays) of one length. */
  type Rows = (number[] | string[] | Float32Array | Float64Array)[];

  /**
   * Runs `model` on `inputs` (`{inputName: value}`; a value alone goes to
   * the model's only input); every output back as nested arrays. Numbers
   * are sent as the model's declared type for that input.
   */
  function infer(model: string, inputs: Record<string, Input> | Input): Record<string, any>;
  /** As {@link infer}, the outputs as tensors with typed arrays (int64 exact). */
  function inferTensors(model: string, inputs: Record<string, Input> | Input): Record<string, Tensor>;
  /** The inputs and outputs of `model`. */
  function describe(model: string): ModelInfo;
  /** The names of the models this guest may use, sorted. */
  function list(): string[];

  /** A model the host loaded; creating one does not call the host. */
  class Model {
    constructor(name: string);
    readonly name: string;
    /** As `infer(this.name, inputs)`. */
    infer(inputs: Record<string, Input> | Input): Record<string, any>;
    /** As `describe(this.name)`. */
    describe(): ModelInfo;
    /**
     * Labels (numbers, or strings for string classes) and class scores.
     * `rows` go to the model's only input; a model with several inputs
     * takes `{inputName: rows}`.
     */
    classify(rows: Rows | Record<string, Rows>): Classification;
    /** Each row's values, one per target. */
    predict(rows: Rows | Record<string, Rows>): number[][];
  }

  /** A failed model call; `kind` says why. */
  class ModelError extends Error {
    /** `UnknownModel`, `NotAllowed`, `InvalidInput` or `Failed`. */
    readonly kind: string;
  }
  /** No model of that name is loaded. */
  class UnknownModel extends ModelError {}
  /** The manifest does not let this guest use that model. */
  class ModelNotAllowed extends ModelError {}
  /** Wrong input names, shapes or element types. */
  class InvalidInput extends ModelError {}
  /** The model failed while running, or answered outputs the typed call did not expect. */
  class ModelFailed extends ModelError {}
}

/** Model errors, also at the top level (`models.ModelError` is the same class). */
export import ModelError = models.ModelError;
export import UnknownModel = models.UnknownModel;
export import ModelNotAllowed = models.ModelNotAllowed;
export import InvalidInput = models.InvalidInput;
export import ModelFailed = models.ModelFailed;
