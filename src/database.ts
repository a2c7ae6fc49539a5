import type { Kysely } from 'kysely';
import type { MessageTable } from './messages/message.table.js';
import type { BanTable, ReportTable, SlowModeTable } from './moderation/moderation.table.js';
import type { RoomMemberTable, RoomTable } from './rooms/room.table.js';
import type { UserTable } from './identity/user.table.js';

/**
 * The whole schema as kysely sees it, composed here (not in infrastructure/, which
 * knows no domain); each table's type lives with its domain.
 */
export interface Database {
  /** One row: this deployment's id, a namespace for what instances share outside the database. */
  deployment: { id: string; created_at: string };
  users: UserTable;
  rooms: RoomTable;
  room_members: RoomMemberTable;
  messages: MessageTable;
  bans: BanTable;
  slow_modes: SlowModeTable;
  reports: ReportTable;
}

/** The database handle the repositories take. */
export type Db = Kysely<Database>;
