// `classifier-js`: seed 004's `app.py` (a scikit-learn RandomForest in a
// Python Lambda container), ported to a TypeScript wasm-lambda guest.
//
// The host loads the forest (exported to ONNX) once at init; the guest asks
// for it by name. Same request, same answer:
//
//     {"data": [0, 0, 0, 0]}  ->  {"statusCode": 200, "body": 1}
//
// Several rows at once (`{"data": [[...], [...]]}`) answer a list in
// `body`. The model name comes from the guest's config key `model`
// (default `seed_forest`).

import { config, defineFunction, GuestError, models } from "wasm-lambda-sdk";

type Row = number[];
interface Request {
  data?: Row | Row[];
}

let forest: models.Model | undefined;

export default defineFunction({
  init() {
    forest = new models.Model(config("model", "seed_forest"));
  },

  handle(event: Request) {
    const data = event?.data;
    if (!Array.isArray(data) || data.length === 0) {
      throw new GuestError("ValidationError", 'expected {"data": [feature, ...]}');
    }
    const single = !Array.isArray(data[0]);
    const rows = (single ? [data] : data) as Row[];
    try {
      const { labels } = forest!.classify(rows);
      return { statusCode: 200, body: single ? labels[0] : labels };
    } catch (error) {
      if (error instanceof models.InvalidInput) throw new GuestError("ValidationError", error.message);
      throw error;
    }
  },

  warm() {
    return { model: forest?.name ?? null };
  },
});
