import type { Db } from '../database.js';
import { userRowToUser, type User } from '../identity/user.js';
import type { NewRoomRow, RoomRow } from './room.table.js';

/** Where a directRooms page continues: below this room in (last activity, id) order. */
export interface ActivityKey {
  at: string;
  id: string;
}

export type DirectRoomRow = Pick<RoomRow, 'id' | 'title' | 'created_at' | 'kind' | 'last_activity_at'>;

export class RoomRepository {
  constructor(private readonly db: Db) {}

  async insert(room: NewRoomRow): Promise<RoomRow> {
    return this.db.insertInto('rooms').values(room).returningAll().executeTakeFirstOrThrow();
  }

  /**
   * A DIRECT room and its two members, in one transaction, so no reader ever
   * sees the room without them. With a pair key the insert meets the unique
   * index instead of checking first: null when the pair's room exists already
   * (or is being committed by a concurrent call, which this one then waits for).
   */
  async insertDirect(room: NewRoomRow, memberIds: readonly [string, string]): Promise<RoomRow | null> {
    return this.db.transaction().execute(async (trx) => {
      const insert = trx.insertInto('rooms').values(room);
      const row = await (room.direct_key == null ? insert : insert.onConflict((oc) => oc.column('direct_key').doNothing()))
        .returningAll()
        .executeTakeFirst();
      if (!row) return null;
      await trx
        .insertInto('room_members')
        .values(memberIds.map((userId) => ({ room_id: row.id, user_id: userId })))
        .execute();
      return row;
    });
  }

  async findById(id: string): Promise<RoomRow | null> {
    return (await this.db.selectFrom('rooms').selectAll().where('id', '=', id).executeTakeFirst()) ?? null;
  }

  async findByDirectKey(key: string): Promise<RoomRow | null> {
    return (await this.db.selectFrom('rooms').selectAll().where('direct_key', '=', key).executeTakeFirst()) ?? null;
  }

  /** The members of each room, by room id. */
  async membersOf(roomIds: readonly string[]): Promise<Map<string, User[]>> {
    const members = new Map<string, User[]>();
    if (roomIds.length === 0) return members;
    const rows = await this.db
      .selectFrom('room_members')
      .innerJoin('users', 'users.id', 'room_members.user_id')
      .select(['room_members.room_id', 'users.id', 'users.nickname', 'users.tag'])
      .where('room_members.room_id', 'in', roomIds)
      .orderBy('room_members.room_id')
      .orderBy('users.id')
      .execute();
    for (const row of rows) {
      const list = members.get(row.room_id);
      if (list) list.push(userRowToUser(row));
      else members.set(row.room_id, [userRowToUser(row)]);
    }
    return members;
  }

  /** The users among `ids` that exist: members are checked before a room is made for them. */
  async findUsers(ids: readonly string[]): Promise<User[]> {
    const rows = await this.db.selectFrom('users').select(['id', 'nickname', 'tag']).where('id', 'in', ids).execute();
    return rows.map(userRowToUser);
  }

  /** PUBLIC rooms in creation order after `afterId`; ids are UUIDv7, so id order is creation order. */
  async listPublicAfter(afterId: string | null, limit: number): Promise<RoomRow[]> {
    let query = this.db.selectFrom('rooms').selectAll().where('kind', '=', 'PUBLIC').orderBy('id').limit(limit);
    if (afterId !== null) query = query.where('id', '>', afterId);
    return query.execute();
  }

  /**
   * The user's rooms, the most recently active first (ties: the newer id
   * first), below `after`. last_activity_at has no index (see the migration):
   * this reads the user's memberships and sorts them, a few rows per user.
   */
  async listByActivity(userId: string, after: ActivityKey | null, limit: number): Promise<DirectRoomRow[]> {
    let query = this.db
      .selectFrom('room_members')
      .innerJoin('rooms', 'rooms.id', 'room_members.room_id')
      .select(['rooms.id', 'rooms.title', 'rooms.created_at', 'rooms.kind', 'rooms.last_activity_at'])
      .where('room_members.user_id', '=', userId)
      .orderBy('rooms.last_activity_at', 'desc')
      .orderBy('rooms.id', 'desc')
      .limit(limit);
    if (after !== null) {
      query = query.where((eb) =>
        eb.or([eb('rooms.last_activity_at', '<', after.at), eb.and([eb('rooms.last_activity_at', '=', after.at), eb('rooms.id', '<', after.id)])]),
      );
    }
    return query.execute();
  }
}
