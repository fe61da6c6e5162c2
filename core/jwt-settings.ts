/** How the API verifies OIDC/JWT bearer tokens; read by the configuration, used by the authenticator. */
export interface JwtSettings {
  /** Verify RS/ES/EdDSA signatures against this JWKS (an OIDC provider's `jwks_uri`). */
  readonly jwksUrl?: string;
  /** Or verify HS256 signatures with this shared secret. */
  readonly secret?: string;
  readonly issuer?: string;
  readonly audience?: string;
  /** Claim holding the roles, dotted for nesting (Keycloak: `realm_access.roles`). */
  readonly rolesClaim: string;
  readonly teamsClaim: string;
  readonly principalClaim: string;
}
