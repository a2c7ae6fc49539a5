import type { Db } from '../database.js';
import type { NewUserRow, UserRow } from './user.table.js';

export class UserRepository {
  constructor(private readonly db: Db) {}

  /** Inserts unless the handle is taken; null tells the caller to draw another tag. */
  async insertIfHandleFree(user: NewUserRow): Promise<UserRow | null> {
    const row = await this.db
      .insertInto('users')
      .values(user)
      .onConflict((oc) => oc.column('handle').doNothing())
      .returningAll()
      .executeTakeFirst();
    return row ?? null;
  }

  /** The rows of those of `ids` that exist, in no particular order. */
  async findByIds(ids: readonly string[]): Promise<UserRow[]> {
    if (ids.length === 0) return [];
    return this.db.selectFrom('users').selectAll().where('id', 'in', ids).execute();
  }

  async findById(id: string): Promise<UserRow | null> {
    return (await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()) ?? null;
  }
}
