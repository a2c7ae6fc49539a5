import type { Db } from '../infrastructure/db/connect.js';
import type { NewRoomRow, RoomRow } from './room.table.js';

export class RoomRepository {
  constructor(private readonly db: Db) {}

  async insert(room: NewRoomRow): Promise<RoomRow> {
    return this.db.insertInto('rooms').values(room).returningAll().executeTakeFirstOrThrow();
  }

  async findById(id: string): Promise<RoomRow | null> {
    return (await this.db.selectFrom('rooms').selectAll().where('id', '=', id).executeTakeFirst()) ?? null;
  }

  /** Rooms in creation order after `afterId`; ids are UUIDv7, so id order is creation order. */
  async listAfter(afterId: string | null, limit: number): Promise<RoomRow[]> {
    let query = this.db.selectFrom('rooms').selectAll().orderBy('id').limit(limit);
    if (afterId !== null) query = query.where('id', '>', afterId);
    return query.execute();
  }
}
