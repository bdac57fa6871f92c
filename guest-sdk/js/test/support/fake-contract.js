// Node has no guest contract to import: for the SDK's unit tests, the
// contract's modules resolve to test/support/fake-host.js, whose functions call
// whatever the test put in globalThis.fakeHost. (The real host is what
// tests/js_guests.rs runs the SDK against.)
import { register } from "node:module";

register("./fake-contract-hooks.js", import.meta.url);
