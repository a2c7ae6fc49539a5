import type { Db } from '../database.js';
import type { BanRow } from './moderation.table.js';

export class BanRepository {
  constructor(private readonly db: Db) {}

  /** Bans the user until `until` (null: until lifted), replacing any earlier ban. */
  async upsert(userId: string, until: string | null, at: string): Promise<void> {
    await this.db
      .insertInto('bans')
      .values({ user_id: userId, until, created_at: at })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ until, created_at: at }))
      .execute();
  }

  async delete(userId: string): Promise<void> {
    await this.db.deleteFrom('bans').where('user_id', '=', userId).execute();
  }

  /** The ban rows of these users (expired ones included: the caller compares with the clock). */
  async findMany(userIds: readonly string[]): Promise<BanRow[]> {
    return this.db.selectFrom('bans').selectAll().where('user_id', 'in', userIds).execute();
  }
}
