import type { Insertable, Selectable } from 'kysely';
import type { RoomKind } from './room.js';

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
  kind: RoomKind;
  /**
   * The pair's own DIRECT room (openDirectRoom): "<smaller user id>:<larger user id>",
   * unique, so two concurrent opens meet at the index. NULL for any other room.
   */
  direct_key: string | null;
  /** ISO time of the newest message (creation until then); set by the UPDATE that claims seqs. */
  last_activity_at: string;
}

/** The two members of a DIRECT room; PUBLIC rooms have none. Never changes after the room is made. */
export interface RoomMemberTable {
  room_id: string;
  user_id: string;
}

export type RoomRow = Selectable<RoomTable>;
export type NewRoomRow = Insertable<RoomTable>;
