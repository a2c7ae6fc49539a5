import type { User } from '../identity/user.js';
import type { RoomRow } from './room.table.js';

/** PUBLIC: listed, open to everyone. DIRECT: exactly two members, invisible to everyone else. */
export type RoomKind = 'PUBLIC' | 'DIRECT';

/**
 * A room's facts that never change once it exists (so a process may keep them
 * for good); anything that can change, such as when it was last active, is read
 * where it is needed, never kept here.
 */
export interface Room {
  id: string;
  title: string;
  createdAt: Date;
  kind: RoomKind;
  /** DIRECT: the two members. PUBLIC: empty. */
  members: User[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether `id` could name a room at all; anything else is answered without asking the database. */
export function isRoomId(id: string): boolean {
  return UUID.test(id);
}

export function roomRowToRoom(row: Pick<RoomRow, 'id' | 'title' | 'created_at' | 'kind'>, members: User[] = []): Room {
  return { id: row.id, title: row.title, createdAt: new Date(row.created_at), kind: row.kind, members };
}

export function isMember(room: Room, userId: string): boolean {
  return room.members.some((member) => member.id === userId);
}
