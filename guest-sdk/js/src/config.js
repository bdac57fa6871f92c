// The guest's configuration: the `config` table of its entry in
// guests.toml, read from the host at each call (it is small, and a release
// switch may change it).

import { host } from "./contract.js";

/**
 * One value of this guest's configuration, or `fallback` (default
 * `undefined`) when guests.toml does not set it.
 *
 * @param {string} key
 * @param {string} [fallback]
 */
export function config(key, fallback) {
  const value = host.config(String(key));
  return value === undefined || value === null ? fallback : value;
}

/** All of this guest's configuration as `[key, value]` pairs, sorted by key. */
export function configEntries() {
  return host.configEntries().map(([key, value]) => [key, value]);
}
