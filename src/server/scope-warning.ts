import type { Logger } from "../log/logger.js";
import type { ToolDefinition } from "../tool/types.js";

/**
 * A tool that declares `scopes` on a server without `auth` publishes a promise the server
 * does not keep: every call is anonymous and nothing checks the scopes. Refusing to start
 * would break the few-lines example and local development, so it is a warning, logged
 * once when the server is created (not per call), naming the tools and the fix.
 */
export function warnUnenforcedScopes(tools: readonly ToolDefinition[], log: Logger): void {
  const scoped = tools.filter((tool) => tool.scopes.length > 0).map((tool) => tool.name);
  if (scoped.length === 0) return;
  log.warn(
    { tools: scoped },
    `scopes are not enforced: ${scoped.join(", ")} declare${scoped.length === 1 ? "s" : ""} ` +
      "scopes but the server has no auth, so every call is anonymous and allowed. Pass " +
      "createToolServer({ auth: jwtVerifier(...) }) (or devIssuer().verifier() locally) to enforce them.",
  );
}
