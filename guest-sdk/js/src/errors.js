// Errors a guest throws on purpose, and the ones the SDK throws for model
// calls. Anything else a hook throws still answers as a guest error (named
// after its class; see function.js): a guest never traps on an exception.

/**
 * An error the guest answers with on purpose: Lambda reports it as
 * `GuestError` with this `kind` and `message`, and the instance, with its
 * module state, keeps serving.
 */
export class GuestError extends Error {
  /**
   * @param {string} kind short machine-readable kind, e.g. `ValidationError`
   * @param {string} message what went wrong, for a person
   */
  constructor(kind, message) {
    super(message);
    this.name = "GuestError";
    this.kind = String(kind);
  }
}

/** A model call that gave no answer; `kind` says why. */
export class ModelError extends Error {
  constructor(message) {
    super(message);
    this.name = this.constructor.name;
  }

  /** `UnknownModel`, `NotAllowed`, `InvalidInput` or `Failed`. */
  get kind() {
    return "ModelError";
  }
}

/** No model of that name is loaded. */
export class UnknownModel extends ModelError {
  get kind() {
    return "UnknownModel";
  }
}

/** The manifest does not let this guest use that model. */
export class ModelNotAllowed extends ModelError {
  get kind() {
    return "NotAllowed";
  }
}

/** Wrong input names, shapes or element types. */
export class InvalidInput extends ModelError {
  get kind() {
    return "InvalidInput";
  }
}

/** The model failed while running, or answered outputs of a form the typed
 * call (`classify`, `predict`) did not expect. */
export class ModelFailed extends ModelError {
  get kind() {
    return "Failed";
  }
}

const MODEL_ERRORS = {
  "unknown-model": [UnknownModel, "unknown model"],
  "not-allowed": [ModelNotAllowed, "model not allowed"],
  "invalid-input": [InvalidInput, "invalid model input"],
  failed: [ModelFailed, "model failed"],
};

/**
 * The SDK error for what a host model call threw: componentize-js throws
 * the contract's `model-error` as an Error whose `payload` is
 * `{tag, val}`. Anything else is rethrown as is.
 */
export function modelErrorFrom(thrown) {
  const payload = thrown && thrown.payload;
  const known = payload && MODEL_ERRORS[payload.tag];
  if (!known) return thrown;
  const [ErrorClass, what] = known;
  return new ErrorClass(`${what}: ${payload.val}`);
}
