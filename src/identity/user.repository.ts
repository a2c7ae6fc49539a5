import type { Db } from '../infrastructure/db/connect.js';
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

  async findById(id: string): Promise<UserRow | null> {
    return (await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()) ?? null;
  }
}
