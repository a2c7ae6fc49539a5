import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';

// Frozen once merged.

/**
 * One row naming this deployment. Instances that share the database share the
 * id, and use it to namespace what they share in Redis, so two deployments (or
 * two test databases) on one Redis never hear each other's rooms.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('deployment')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db
    .insertInto('deployment')
    .values({ id: randomBytes(8).toString('hex'), created_at: new Date().toISOString() })
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('deployment').execute();
}
