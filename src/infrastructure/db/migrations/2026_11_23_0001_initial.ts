import type { Kysely } from 'kysely';

// Frozen once merged: later changes get a new, later-named migration.
// Timestamps are ISO-8601 text on both dialects (sortable, one code path).

/** The lobby exists from the first start; a fixed id lets every instance agree on it. */
export const LOBBY_ID = '00000000-0000-7000-8000-000000000001';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('nickname', 'text', (c) => c.notNull())
    .addColumn('tag', 'text', (c) => c.notNull())
    .addColumn('handle', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('rooms')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_seq', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('messages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('sender_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('client_message_id', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  // Keyset paging and resume read (room_id, seq) ranges; uniqueness is the seq guarantee.
  await db.schema.createIndex('messages_room_seq').unique().on('messages').columns(['room_id', 'seq']).execute();
  // Idempotent retries. NULLs are distinct on both dialects, so messages without an id never collide.
  await db.schema
    .createIndex('messages_idempotency')
    .unique()
    .on('messages')
    .columns(['room_id', 'sender_id', 'client_message_id'])
    .execute();

  await db
    .insertInto('rooms')
    .values({ id: LOBBY_ID, title: 'lobby', created_at: new Date().toISOString(), last_seq: 0 })
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('messages').execute();
  await db.schema.dropTable('rooms').execute();
  await db.schema.dropTable('users').execute();
}
