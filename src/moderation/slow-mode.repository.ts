import type { Db } from '../database.js';

export class SlowModeRepository {
  constructor(private readonly db: Db) {}

  async upsert(roomId: string, seconds: number, at: string): Promise<void> {
    await this.db
      .insertInto('slow_modes')
      .values({ room_id: roomId, seconds, updated_at: at })
      .onConflict((oc) => oc.column('room_id').doUpdateSet({ seconds, updated_at: at }))
      .execute();
  }

  /** The slow mode of each of these rooms that has one set. */
  async findMany(roomIds: readonly string[]): Promise<Map<string, number>> {
    const rows = await this.db.selectFrom('slow_modes').select(['room_id', 'seconds']).where('room_id', 'in', roomIds).execute();
    return new Map(rows.map((row) => [row.room_id, row.seconds]));
  }
}
