// Stand-ins for the contract's imports: each calls globalThis.fakeHost's
// function of the same name, so a test decides what the "host" answers
// and records what the SDK sent.
function call(name) {
  return (...args) => {
    const fake = globalThis.fakeHost?.[name];
    if (!fake) throw new Error(`the test set no fakeHost.${name}`);
    return fake(...args);
  };
}

export const log = call("log");
export const config = call("config");
export const configEntries = call("configEntries");
export const environment = call("environment");
export const infer = call("infer");
export const describe = call("describe");
export const list = call("list");
