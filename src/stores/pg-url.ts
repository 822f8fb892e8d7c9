import { userInfo } from "node:os";

/**
 * Like libpq, a URL without a user connects as the OS user; pg only reads $PGUSER or
 * $USER, which containers often leave unset ("no PostgreSQL user name specified").
 */
export function withDefaultUser(connectionString: string): string {
  if (process.env["PGUSER"] || process.env["USER"]) return connectionString;
  try {
    const url = new URL(connectionString);
    if (!/^postgres(ql)?:$/.test(url.protocol) || url.username !== "") return connectionString;
    url.username = userInfo().username;
    return url.toString();
  } catch {
    return connectionString;
  }
}
