import type { Db } from '../database.js';
import type { NewReportRow, ReportRow } from './moderation.table.js';

export class ReportRepository {
  constructor(private readonly db: Db) {}

  /** Stores the report; null when this reporter already reported this message (the unique index decides, not a look-up). */
  async insertIfNew(report: NewReportRow): Promise<ReportRow | null> {
    const row = await this.db
      .insertInto('reports')
      .values(report)
      .onConflict((oc) => oc.columns(['reporter_id', 'message_id']).doNothing())
      .returningAll()
      .executeTakeFirst();
    return row ?? null;
  }
}
