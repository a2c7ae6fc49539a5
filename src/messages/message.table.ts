import type { Insertable, Selectable } from 'kysely';

export interface MessageTable {
  id: string;
  room_id: string;
  /** Per-room position, 1, 2, 3… with no gap: ordering, paging and resume use it. */
  seq: number;
  sender_id: string;
  body: string;
  client_message_id: string | null;
  created_at: string;
}

export type MessageRow = Selectable<MessageTable>;
export type NewMessageRow = Insertable<MessageTable>;
