// `js-plain`: a guest in plain JavaScript (no TypeScript, no npm
// packages of its own), for the tests: `.js` apps build as `.ts` ones do.
// It greets, counts, and reads a config value, with an async hook.
import { config, defineFunction } from "wasm-lambda-sdk";

let greeted = 0;

export default defineFunction({
  async handle(event, ctx) {
    greeted += 1;
    const name = await Promise.resolve(event?.name ?? "world");
    console.info(`greeting ${name}`);
    return { message: `${config("greeting", "Hello")}, ${name}!`, greeted, guest: ctx.guestName };
  },
});
