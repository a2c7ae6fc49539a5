import type { Insertable, Selectable } from 'kysely';

export interface UserTable {
  id: string;
  nickname: string;
  /** Four digits, kept as text so "0042" stays "0042". */
  tag: string;
  /** nickname#tag; a unique index makes it the identity people see. */
  handle: string;
  created_at: string;
}

export type UserRow = Selectable<UserTable>;
export type NewUserRow = Insertable<UserTable>;
