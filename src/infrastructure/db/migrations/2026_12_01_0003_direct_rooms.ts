import { sql, type Kysely } from 'kysely';

// Frozen once merged.

/**
 * DIRECT rooms: a room's kind, its members, the pair key that makes
 * openDirectRoom idempotent, and when it was last active (directRooms order).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('rooms').addColumn('kind', 'text', (c) => c.notNull().defaultTo('PUBLIC')).execute();
  // "<smaller user id>:<larger user id>" for the pair's openDirectRoom room; NULL for every other
  // room (matching makes rooms of their own). NULLs are distinct on both dialects, so only pairs collide.
  await db.schema.alterTable('rooms').addColumn('direct_key', 'text').execute();
  // Bumped by the UPDATE that claims a message's seq. Deliberately not indexed: an indexed column
  // changed on every send would cost PostgreSQL its in-place (HOT) update of the room row.
  await db.schema.alterTable('rooms').addColumn('last_activity_at', 'text', (c) => c.notNull().defaultTo('')).execute();
  await db.updateTable('rooms').set({ last_activity_at: sql.ref('created_at') }).execute();

  await db.schema.createIndex('rooms_direct_key').unique().on('rooms').column('direct_key').execute();
  // Query.rooms pages PUBLIC rooms by id without walking past the (many more) direct ones.
  await db.schema.createIndex('rooms_kind_id').on('rooms').columns(['kind', 'id']).execute();

  await db.schema
    .createTable('room_members')
    .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addPrimaryKeyConstraint('room_members_pk', ['room_id', 'user_id'])
    .execute();
  // directRooms: a user's rooms.
  await db.schema.createIndex('room_members_user').on('room_members').columns(['user_id', 'room_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('room_members').execute();
  await db.schema.dropIndex('rooms_kind_id').execute();
  await db.schema.dropIndex('rooms_direct_key').execute();
  await db.schema.alterTable('rooms').dropColumn('last_activity_at').execute();
  await db.schema.alterTable('rooms').dropColumn('direct_key').execute();
  await db.schema.alterTable('rooms').dropColumn('kind').execute();
}
