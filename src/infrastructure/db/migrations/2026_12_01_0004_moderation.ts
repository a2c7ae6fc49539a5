import type { Kysely } from 'kysely';

// Frozen once merged.

/**
 * Moderation: bans, slow mode per room and users' reports. Kept in tables of
 * their own rather than columns of users and rooms: rooms are cached for good
 * once seen (they never change), and these settings do.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('bans')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id'))
    .addColumn('until', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('slow_modes')
    .addColumn('room_id', 'text', (c) => c.primaryKey().references('rooms.id'))
    .addColumn('seconds', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('reports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('message_id', 'text', (c) => c.notNull().references('messages.id'))
    .addColumn('reporter_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('reason', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  // One report per reporter and message: a second one meets this index and changes nothing.
  await db.schema.createIndex('reports_reporter_message').unique().on('reports').columns(['reporter_id', 'message_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('reports').execute();
  await db.schema.dropTable('slow_modes').execute();
  await db.schema.dropTable('bans').execute();
}
