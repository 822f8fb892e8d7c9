// `toolgate/auth`: the less common auth pieces: custom verifiers (TokenVerifier,
// AuthError), the auth option's full form, claim mapping, the dev issuer's defaults and
// the protected-resource metadata. jwtVerifier, introspectionVerifier, devIssuer, their
// options and Principal are in the package root.
export { ANONYMOUS_PRINCIPAL } from "./principal.js";
export { AuthError, isTokenVerifier } from "./verifier.js";
export type { AuthErrorCode, TokenVerifier, VerifyOptions } from "./verifier.js";
export type { AuthConfig, AuthOption } from "./auth-options.js";
export { DEFAULT_JWT_ALGORITHMS } from "./jwt-verifier.js";
export { DEFAULT_SCOPE_CLAIM, DEFAULT_TENANT_CLAIM } from "./claims.js";
export type { ClaimMapping } from "./claims.js";
export type { PublicKeyInput } from "./jwks-cache.js";
export { DEFAULT_DEV_TOKEN_TTL_SEC, MAX_DEV_TOKEN_TTL_SEC } from "./dev-issuer.js";
export type { DevTokenClaims } from "./dev-issuer.js";
export { DEFAULT_DEV_KEY_FILE, DEV_ISSUER } from "./dev-keys.js";
export { buildResourceMetadata, resourceMetadataUrl } from "./resource-metadata.js";
export type { ResourceMetadata } from "./resource-metadata.js";
