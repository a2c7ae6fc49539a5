import type { Insertable, Selectable } from 'kysely';

export interface RoomTable {
  /** UUIDv7: ordering by id is ordering by creation, which rooms paging relies on. */
  id: string;
  title: string;
  created_at: string;
  /**
   * The seq of the room's newest message. Bumped in the same transaction that
   * inserts the message, so the row lock (PostgreSQL) or the single writer
   * (SQLite) hands out every seq exactly once, and a rollback leaves no gap.
   */
  last_seq: number;
}

export type RoomRow = Selectable<RoomTable>;
export type NewRoomRow = Insertable<RoomTable>;
