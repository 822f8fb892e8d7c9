// RFC 6750 §3: the WWW-Authenticate challenge of a bearer-token resource server, with
// RFC 9728 §5.1's `resource_metadata` so MCP clients can discover the authorization server.

export interface Challenge {
  error?: "invalid_request" | "invalid_token" | "insufficient_scope";
  description?: string;
  /** Scopes needed (RFC 6750 §3; MCP clients request exactly these on step-up). */
  scope?: readonly string[];
  resourceMetadata: string;
}

export function bearerChallenge(challenge: Challenge): string {
  const params: string[] = [];
  if (challenge.error) params.push(`error="${challenge.error}"`);
  if (challenge.description) params.push(`error_description="${quotable(challenge.description)}"`);
  if (challenge.scope && challenge.scope.length > 0)
    params.push(`scope="${quotable(challenge.scope.join(" "))}"`);
  params.push(`resource_metadata="${quotable(challenge.resourceMetadata)}"`);
  return `Bearer ${params.join(", ")}`;
}

// error_description is limited to %x20-21 / %x23-5B / %x5D-7E (RFC 6750 §3): no quotes or backslashes.
function quotable(text: string): string {
  return text.replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, "'");
}
