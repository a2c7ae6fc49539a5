/**
 * Whether a database error is the database being busy, not the statement being
 * wrong: a lock another connection holds (SQLite's SQLITE_BUSY once its busy
 * timeout ran out; PostgreSQL's lock_timeout or statement_timeout), a
 * serialization conflict, or no pooled connection in time. Trying again a
 * moment later can succeed, and nothing of the attempt was stored (each write
 * is one transaction): clients are told so instead of seeing an internal error.
 */
export function isDatabaseBusy(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && BUSY_CODES.has(code)) return true;
  // pg.Pool's wait for a free connection (connectionTimeoutMillis) carries no code.
  return error.message === 'timeout exceeded when trying to connect';
}

const BUSY_CODES = new Set([
  // SQLite (better-sqlite3 puts the extended result code on the error).
  'SQLITE_BUSY',
  'SQLITE_BUSY_SNAPSHOT',
  'SQLITE_BUSY_TIMEOUT',
  'SQLITE_LOCKED',
  // PostgreSQL SQLSTATEs: lock_not_available, query_canceled (statement_timeout), serialization_failure, deadlock_detected, too_many_connections.
  '55P03',
  '57014',
  '40001',
  '40P01',
  '53300',
]);
