import type * as Undici from "undici";

let loading: Promise<typeof Undici> | undefined;

/**
 * undici, imported on first use. Only servers with HTTP backends, credential exchanges or a
 * gateway need it, and importing it costs every other process ~10 MB of RSS at start.
 */
export function loadUndici(): Promise<typeof Undici> {
  return (loading ??= import("undici"));
}
