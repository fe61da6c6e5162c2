/**
 * Who did something. Roles are fixed words plus approver groups, so a typo in a role is a type error.
 */
export type Role = 'engineer' | 'auditor' | 'admin' | 'scorer' | `approver:${string}`;

export interface Principal {
  readonly id: string;
  readonly roles: readonly Role[];
  /** Teams the principal belongs to; a gate may exclude the model's owning team from approving. */
  readonly teams?: readonly string[];
}

const ROLE_PATTERN = /^(engineer|auditor|admin|scorer|approver:[a-z0-9][a-z0-9_-]*)$/;

export function isRole(value: string): value is Role {
  return ROLE_PATTERN.test(value);
}

export function approverGroups(principal: Principal): string[] {
  return principal.roles.filter((r) => r.startsWith('approver:')).map((r) => r.slice('approver:'.length));
}
