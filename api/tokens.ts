import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { CatalogDb } from '../catalog/db.js';
import { isRole, type Principal, type Role } from '../core/principal.js';

/**
 * Steward's own API tokens. Only the SHA-256 of a token is stored; the token itself is shown once, at
 * creation. A token lives until it is revoked; every request looks it up again (no cache), so a revocation
 * takes effect on the next request.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Who a token may name: an identifier, not free text (it reaches logs, histories and approval records). */
export const PRINCIPAL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/;
const TEAM_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._ -]{0,99}$/;

export const principalId = z.string().regex(PRINCIPAL_PATTERN, 'must be 1-128 letters, digits, ".", "_", "@", "+" or "-", starting with a letter or digit');

/** A token request as the API and the CLI take it. */
export const tokenRequestSchema = z.strictObject({
  principal: principalId,
  roles: z
    .array(z.string().refine(isRole, 'must be engineer, auditor, admin, scorer or approver:<group> (lower-case group)'))
    .min(1, 'must name at least one role')
    .max(20)
    .refine((r) => new Set(r).size === r.length, 'must not repeat a role'),
  teams: z.array(z.string().regex(TEAM_PATTERN, 'must be 1-100 letters, digits, spaces, ".", "_" or "-"')).max(50).default([]),
});
export type TokenRequest = z.output<typeof tokenRequestSchema>;

export interface IssuedToken {
  readonly id: number;
  readonly principal: string;
  readonly roles: readonly Role[];
  readonly teams: readonly string[];
  readonly createdAt: string;
  /** Shown once; never stored. */
  readonly token: string;
}

export interface TokenRecord {
  readonly id: number;
  readonly principal: string;
  readonly roles: readonly Role[];
  readonly teams: readonly string[];
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

export async function issueApiToken(db: CatalogDb, request: TokenRequest): Promise<IssuedToken> {
  const token = `stw_${randomBytes(32).toString('base64url')}`;
  const row = await db
    .insertInto('api_tokens')
    .values({
      token_hash: hashToken(token),
      principal: request.principal,
      roles: JSON.stringify(request.roles),
      teams: JSON.stringify(request.teams),
      revoked_at: null,
    })
    .returning(['id', 'created_at'])
    .executeTakeFirstOrThrow();
  return { id: row.id, principal: request.principal, roles: request.roles as Role[], teams: request.teams, createdAt: row.created_at.toISOString(), token };
}

export async function createApiToken(db: CatalogDb, principal: string, roles: readonly Role[], teams: readonly string[] = []): Promise<string> {
  return (await issueApiToken(db, { principal, roles: [...roles], teams: [...teams] })).token;
}

export async function listApiTokens(db: CatalogDb, filter: { principal?: string; includeRevoked?: boolean } = {}): Promise<TokenRecord[]> {
  let query = db.selectFrom('api_tokens').select(['id', 'principal', 'roles', 'teams', 'created_at', 'revoked_at']);
  if (filter.principal !== undefined) query = query.where('principal', '=', filter.principal);
  if (!filter.includeRevoked) query = query.where('revoked_at', 'is', null);
  const rows = await query.orderBy('id').execute();
  return rows.map((r) => ({
    id: r.id,
    principal: r.principal,
    roles: r.roles as Role[],
    teams: r.teams,
    createdAt: r.created_at.toISOString(),
    revokedAt: r.revoked_at ? new Date(r.revoked_at).toISOString() : null,
  }));
}

/** Revokes one token by id; false when there is no such active token. */
export async function revokeApiToken(db: CatalogDb, id: number): Promise<TokenRecord | null> {
  const row = await db
    .updateTable('api_tokens')
    .set({ revoked_at: new Date() })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returning(['id', 'principal', 'roles', 'teams', 'created_at', 'revoked_at'])
    .executeTakeFirst();
  return row
    ? { id: row.id, principal: row.principal, roles: row.roles as Role[], teams: row.teams, createdAt: row.created_at.toISOString(), revokedAt: new Date(row.revoked_at!).toISOString() }
    : null;
}

export async function revokeApiTokens(db: CatalogDb, principal: string): Promise<number> {
  const result = await db
    .updateTable('api_tokens')
    .set({ revoked_at: new Date() })
    .where('principal', '=', principal)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function principalForToken(db: CatalogDb, token: string): Promise<Principal | null> {
  const row = await db
    .selectFrom('api_tokens')
    .select(['principal', 'roles', 'teams'])
    .where('token_hash', '=', hashToken(token))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return row ? { id: row.principal, roles: row.roles as Role[], teams: row.teams } : null;
}
