import { sql, type Kysely } from 'kysely';
import type { Logger } from '../../logger.js';
import { StartupFailure } from '../../startup-failure.js';

/** Between attempts: quick at first (a database starting beside us), then every 2 s. */
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 2_000;

/**
 * Waits until the database answers, for at most `waitMs`, with a warning per
 * failed attempt; then fails with a StartupFailure. For PostgreSQL started
 * beside the server (compose, a restart of both); SQLite either opens or not.
 */
export async function waitForDatabase(db: Kysely<any>, options: { waitMs: number; logger: Logger }): Promise<void> {
  const deadline = Date.now() + options.waitMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await sql`select 1`.execute(db);
      if (attempt > 1) options.logger.info({ attempt }, 'database reachable');
      return;
    } catch (error) {
      const retryInMs = Math.min(FIRST_RETRY_MS * 2 ** (attempt - 1), MAX_RETRY_MS);
      if (Date.now() + retryInMs > deadline) {
        throw new StartupFailure(`database unreachable after ${attempt} attempt${attempt === 1 ? '' : 's'} in ${Math.round(options.waitMs / 1000)} s: ${reasonOf(error)}`, {
          attempts: attempt,
        });
      }
      options.logger.warn({ attempt, error: reasonOf(error), retryInMs }, 'database unreachable; retrying');
      await new Promise((resolve) => setTimeout(resolve, retryInMs));
    }
  }
}

/** pg reports a refused connection to a name with two addresses as an AggregateError without a message. */
function reasonOf(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') return error.errors.map(reasonOf).join('; ');
  if (error instanceof Error) return error.message || String((error as NodeJS.ErrnoException).code ?? error.name);
  return String(error);
}
