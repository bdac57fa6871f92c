// wasm-lambda-sdk: write wasm-lambda guests in JavaScript or TypeScript.
// An app's default export is `defineFunction({handle, init?, warm?})`;
// `wasm-lambda build app.ts -o app.wasm` makes the component.

import { explainFetchErrors } from "./fetch.js";
import { routeConsole } from "./log.js";
import * as models from "./models.js";

export { CONTRACT } from "./contract.js";
export { config, configEntries } from "./config.js";
export { Context, WarmInfo } from "./context.js";
export {
  GuestError,
  InvalidInput,
  ModelError,
  ModelFailed,
  ModelNotAllowed,
  UnknownModel,
} from "./errors.js";
export { defineFunction } from "./function.js";
export { format, log } from "./log.js";
export { models };

// console.* through the host log at its level, and fetch errors that say
// where to look, for every guest built with the SDK (done when the guest
// is built: the snapshot keeps it).
routeConsole();
explainFetchErrors();
