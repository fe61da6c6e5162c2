import { createHash, randomBytes } from 'node:crypto';
import type { CatalogDb } from '../catalog/db.js';
import type { Principal, Role } from '../core/principal.js';

/** Only the SHA-256 of a token is stored; the token itself is shown once, at creation. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export async function createApiToken(
  db: CatalogDb,
  principal: string,
  roles: readonly Role[],
  teams: readonly string[] = [],
): Promise<string> {
  const token = `stw_${randomBytes(32).toString('base64url')}`;
  await db
    .insertInto('api_tokens')
    .values({ token_hash: hashToken(token), principal, roles: JSON.stringify(roles), teams: JSON.stringify(teams), revoked_at: null })
    .execute();
  return token;
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
