import type { RoomRow } from './room.table.js';

export interface Room {
  id: string;
  title: string;
  createdAt: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether `id` could name a room at all; anything else is answered without asking the database. */
export function isRoomId(id: string): boolean {
  return UUID.test(id);
}

export function roomRowToRoom(row: RoomRow): Room {
  return { id: row.id, title: row.title, createdAt: new Date(row.created_at) };
}
