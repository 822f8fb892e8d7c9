/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728), which MCP servers must serve so
 * clients can find the authorization server for this resource.
 */
export interface ResourceMetadata {
  resource: string;
  authorization_servers?: string[];
  scopes_supported: string[];
  bearer_methods_supported: string[];
  resource_name?: string;
}

export function buildResourceMetadata(input: {
  resource: string;
  authorizationServers: readonly string[];
  scopes: readonly string[];
  name?: string;
}): ResourceMetadata {
  const metadata: ResourceMetadata = {
    resource: input.resource,
    scopes_supported: [...new Set(input.scopes)].sort(),
    // Tokens only in the Authorization header; query and body tokens are refused.
    bearer_methods_supported: ["header"],
  };
  if (input.authorizationServers.length > 0)
    metadata.authorization_servers = [...input.authorizationServers];
  if (input.name !== undefined) metadata.resource_name = input.name;
  return metadata;
}

/**
 * RFC 9728 §3.1: the metadata lives at the resource's origin with
 * `/.well-known/oauth-protected-resource` inserted before the resource's path.
 */
export function resourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === "/" ? "" : url.pathname.replace(/\/$/, "");
  return `${url.origin}/.well-known/oauth-protected-resource${path}`;
}
