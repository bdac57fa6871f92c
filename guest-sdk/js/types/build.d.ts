/** Building guests from Node: what `wasm-lambda build` runs. */

/** A build that produced no component; the message says why. */
export declare class BuildError extends Error {}

/** What a build made. */
export interface BuildResult {
  /** Size of the component in bytes. */
  bytes: number;
  /** Size of the bundled app in bytes. */
  bundleBytes: number;
  /** Wall time of the build. */
  seconds: number;
  /** WASI features left out. */
  disabled: string[];
  /** `"function"`: a guest of the contract (the app's default export);
   * `"http"`: an HTTP guest, the standard wasi:http/proxy component (an app
   * with no default export that calls `addEventListener("fetch", …)`). */
  kind: "function" | "http";
}

/**
 * Builds the app at `app` (.ts, .mts, .js, .mjs) into the component `out`.
 *
 * @example
 * ```ts
 * import { build } from "wasm-lambda-sdk/build";
 * const { bytes } = await build("app.ts", "app.wasm");
 * ```
 */
export declare function build(app: string, out: string, options?: { disable?: string[] }): Promise<BuildResult>;

/**
 * A fetch-event app's bundle (no default export, a `fetch` listener), or
 * `null` for an app of the guest contract.
 */
export declare function fetchEventApp(appPath: string): Promise<string | null>;

/** The app and its dependencies as one ES module. */
export declare function bundle(appPath: string): Promise<string>;

/** The SDK's WIT folder. */
export declare const witPath: string;
