import type { UserRow } from './user.table.js';

export interface User {
  id: string;
  nickname: string;
  tag: string;
  /** nickname#tag, unique on the server: what people see. */
  handle: string;
}

/** The one place a handle is spelled: the nickname, '#', the four-digit tag. */
export function handleOf(nickname: string, tag: string): string {
  return `${nickname}#${tag}`;
}

export function userOf(id: string, nickname: string, tag: string): User {
  return { id, nickname, tag, handle: handleOf(nickname, tag) };
}

export function userRowToUser(row: Pick<UserRow, 'id' | 'nickname' | 'tag'>): User {
  return userOf(row.id, row.nickname, row.tag);
}
