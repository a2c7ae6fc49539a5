import type { Insertable, Selectable } from 'kysely';

/** A user who may not write (send, create rooms, open direct rooms, type, wait for a match). */
export interface BanTable {
  user_id: string;
  /** ISO time the ban lifts by itself; NULL: until unbanned. A row past its time is no ban. */
  until: string | null;
  created_at: string;
}

/** A room's slow mode; a room without a row has none. */
export interface SlowModeTable {
  room_id: string;
  /** Seconds between two messages of one user; 0: off. */
  seconds: number;
  updated_at: string;
}

/** A user's report of a message; (reporter_id, message_id) is unique, so reporting again changes nothing. */
export interface ReportTable {
  id: string;
  message_id: string;
  reporter_id: string;
  reason: string | null;
  created_at: string;
}

export type BanRow = Selectable<BanTable>;
export type ReportRow = Selectable<ReportTable>;
export type NewReportRow = Insertable<ReportTable>;
