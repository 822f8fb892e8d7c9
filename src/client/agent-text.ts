// The text an agent loop hands back to the model when a tool call failed: what failed,
// whether calling again can help, and what to change first. Derived only from the typed
// error (type, retryable, details.issues, details.requiredScopes, retryAfterMs, applied).
import type { ToolCallError } from "./result.js";

const MAX_ISSUES = 10;

/**
 * A short paragraph for the model about a failed call, e.g.
 * "issue_refund failed: invalid_input. The arguments do not match... amount_cents: must be
 * at most 1500 (expected an integer from 1 to 1500). Fix the arguments and call it again."
 */
export function errorForModel(toolName: string, error: ToolCallError): string {
  const message = sentence(error.message);
  const wait = waitText(error.retryAfterMs);
  switch (error.type) {
    case "invalid_input": {
      const issues = issuesText(error.details);
      return `${toolName} failed: invalid_input. ${message}${issues ? ` ${issues}` : ""} Fix the arguments and call it again.`;
    }
    // Refused before anything ran, and not stored by the server (the idempotency outcome
    // policy): once the user has fixed the access, the same operation runs.
    case "forbidden": {
      const scopes = stringList(error.details?.["requiredScopes"]);
      const needs = scopes ? ` It needs the permission(s): ${scopes.join(", ")}.` : "";
      return `${toolName} failed: forbidden. ${message}${needs} ${NOTHING_DONE} Ask the user to grant the missing permission(s); once they have, ${RESUME}`;
    }
    case "unauthenticated":
      return `${toolName} failed: unauthenticated. ${message} ${NOTHING_DONE} Ask the user to sign in again; once they have, ${RESUME}`;
    case "not_found":
      return `${toolName} failed: not_found. ${message} Check the identifiers (look them up if you can) before calling again; do not retry unchanged.`;
    case "conflict":
      return `${toolName} failed: conflict. ${message} It conflicts with the current state: check that state before deciding what to do; do not retry unchanged.`;
    case "internal": {
      const incident = error.incidentId ? ` Incident id: ${error.incidentId}.` : "";
      return `${toolName} failed permanently: internal. ${message}${incident} Do not retry; tell the user.`;
    }
    case "cancelled":
      return `${toolName} was cancelled before it finished. ${message} ${maybeApplied(error, message)}`;
    case "protocol_error":
      return `${toolName} could not be called: ${message} Check the tool name and the argument types against the tool list; do not retry unchanged.`;
    case "tool_error":
      return `${toolName} reported an error: ${message} If the message points at an argument, fix it and call again; otherwise do not retry unchanged, and tell the user.`;
  }
  if (error.retryable) {
    return `${toolName} is temporarily unavailable (${error.type}). ${message} It is safe to retry with the same operation${wait ? ` ${wait}` : " in a moment"}.`;
  }
  if (error.applied === "unknown") {
    return `${toolName} failed (${error.type}). ${message} ${maybeApplied(error, message)}`;
  }
  return `${toolName} failed permanently: ${error.type}. ${message} Do not retry; tell the user.`;
}

const MAYBE = "may or may not have taken effect";
const NOTHING_DONE = "Nothing was done with this token.";
const RESUME =
  "resume the same operation (the same arguments and the same operation id); calling it again before that gets the same refusal.";

function maybeApplied(error: ToolCallError, message: string): string {
  if (error.applied === "no") return "Nothing was done; you may call it again.";
  const said = message.includes(MAYBE) ? "" : `It ${MAYBE}. `;
  return (
    `${said}Do not call it again blindly: check first whether it happened (for example ` +
    "with a read tool), then decide, or tell the user."
  );
}

function issuesText(details: Record<string, unknown> | undefined): string {
  const issues = details?.["issues"];
  if (!Array.isArray(issues)) return "";
  const lines: string[] = [];
  for (const issue of (issues as unknown[]).slice(0, MAX_ISSUES)) {
    if (typeof issue !== "object" || issue === null) continue;
    const { path, message, expected } = issue as Record<string, unknown>;
    if (typeof message !== "string") continue;
    const where = typeof path === "string" ? fieldName(path) : "(arguments)";
    const want = typeof expected === "string" && expected ? ` (expected ${expected})` : "";
    lines.push(`${where}: ${message}${want}.`);
  }
  if (issues.length > MAX_ISSUES) lines.push(`(${issues.length - MAX_ISSUES} more issues)`);
  return lines.join(" ");
}

/** A JSON Pointer as a field name: "/items/0/sku" -> "items/0/sku", "" -> "(arguments)". */
function fieldName(pointer: string): string {
  if (pointer === "" || pointer === "/") return "(arguments)";
  return pointer.replace(/^\//, "").replace(/~1/g, "/").replace(/~0/g, "~");
}

function stringList(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return value.every((v): v is string => typeof v === "string") ? value : undefined;
}

function waitText(retryAfterMs: number | undefined): string {
  if (retryAfterMs === undefined) return "";
  if (retryAfterMs < 1_000) return `after ${Math.max(0, Math.round(retryAfterMs))} ms`;
  return `after ${Math.ceil(retryAfterMs / 1_000)} s`;
}

function sentence(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return "";
  return /[.!?)]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}
