import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';

import * as initial from './migrations/2026_11_23_0001_initial.js';
import * as deployment from './migrations/2026_11_23_0002_deployment.js';
import * as directRooms from './migrations/2026_12_01_0003_direct_rooms.js';
import * as moderation from './migrations/2026_12_01_0004_moderation.js';

/** Listed here rather than read from disk, so a bundled or tsx-run server finds them the same way. */
const migrations: Record<string, Migration> = {
  '2026_11_23_0001_initial': initial,
  '2026_11_23_0002_deployment': deployment,
  '2026_12_01_0003_direct_rooms': directRooms,
  '2026_12_01_0004_moderation': moderation,
};

/** Every migration's name, in order. */
export const MIGRATION_NAMES = Object.keys(migrations);

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Brings the schema up to date. On PostgreSQL kysely's Migrator holds an advisory
 * lock, so instances starting together apply each migration once and the rest wait.
 */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** The id every instance on this database shares (see the deployment migration). */
export async function deploymentId(db: Kysely<any>): Promise<string> {
  const row = await db.selectFrom('deployment').select('id').executeTakeFirstOrThrow();
  return row.id;
}
