// Drivers are optional peer dependencies, loaded on first use so toolgate installs without them.

/**
 * Loads an optional peer dependency. `load` is a literal `() => import("name")` so
 * bundlers still see the specifier.
 */
export async function importPeer<T>(
  name: string,
  store: string,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new Error(
        `the ${store} idempotency store needs the optional peer dependency "${name}": npm install ${name}`,
        { cause: err },
      );
    }
    throw err;
  }
}
