// The one module that imports the guest contract (wasm-lambda:guest@0.2.0).
// componentize-js turns these imports into calls to the host; every other
// module of the SDK goes through here, so the SDK's unit tests on Node can
// stand in for the host with a module loader hook (test/fake-contract.js).

import {
  config,
  configEntries,
  environment,
  log,
} from "wasm-lambda:guest/host@0.2.0";
import { describe, infer, list } from "wasm-lambda:guest/models@0.2.0";

/** Contract version this SDK builds guests for. */
export const CONTRACT = "wasm-lambda:guest@0.2.0";

export const host = { config, configEntries, environment, log };
export const models = { describe, infer, list };
