import type { MessageTable } from '../../messages/message.table.js';
import type { RoomTable } from '../../rooms/room.table.js';
import type { UserTable } from '../../identity/user.table.js';

/** The whole schema as kysely sees it; each table's type lives with its domain. */
export interface Database {
  /** One row: this deployment's id, a namespace for what instances share outside the database. */
  deployment: { id: string; created_at: string };
  users: UserTable;
  rooms: RoomTable;
  messages: MessageTable;
}
