// Seed 004's model served the Node.js way, as a whole process, for
// `host-bench js`: a Node Lambda handler would import onnxruntime-node,
// create an inference session for the ONNX file and predict. Usage:
//   node seed004.mjs MODEL.onnx EVENT_FILE   (prints the answer as JSON)
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";

const [model, eventFile] = process.argv.slice(2);
const event = JSON.parse(readFileSync(eventFile, "utf8"));
const session = await ort.InferenceSession.create(model);
const input = new ort.Tensor("float32", Float32Array.from(event.data), [1, event.data.length]);
const outputs = await session.run({ [session.inputNames[0]]: input });
const label = Number(outputs.label.data[0]);
process.stdout.write(`${JSON.stringify({ statusCode: 200, body: label })}\n`);
