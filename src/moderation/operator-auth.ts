import { createHash, timingSafeEqual } from 'node:crypto';
import { forbidden } from '../errors.js';

/**
 * The operators' credential: the server's ADMIN_TOKEN, sent as the bearer
 * (HTTP and SSE: the Authorization header; graphql-ws: connection_init). It is
 * not a user: an operator may run the operator-only fields and nothing that
 * needs a user, and no user's token ever passes for it.
 */
export class OperatorAuth {
  /** SHA-256 of the admin token; null when ADMIN_TOKEN is not set (no bearer is an operator's). */
  private readonly expected: Buffer | null;

  constructor(adminToken: string | null) {
    this.expected = adminToken === null ? null : digest(adminToken);
  }

  /**
   * Whether `token` is the admin token. Both sides are hashed first, so
   * timingSafeEqual compares two buffers of one length whatever was sent, and
   * the time taken says nothing about how much of the token matched.
   */
  isAdminToken(token: string | null | undefined): boolean {
    if (this.expected === null || !token) return false;
    return timingSafeEqual(digest(token), this.expected);
  }

  /** FORBIDDEN unless the caller came with the admin token; says why when operator access is off. */
  require(isOperator: boolean): void {
    if (isOperator) return;
    if (this.expected === null) throw forbidden('operator access is disabled on this server (ADMIN_TOKEN is not set)');
    throw forbidden("operators only: send the server's admin token (ADMIN_TOKEN) as the bearer");
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
