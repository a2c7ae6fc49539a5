import SQLite from 'better-sqlite3';
import type { Database } from '../src/database.js';
import { connectDatabase } from '../src/infrastructure/db/connect.js';
import { migrateToLatest } from '../src/infrastructure/db/migrate.js';
import { uuidv7 } from '../src/infrastructure/ids.js';

/** The room the history scenario pages through; a fixed id the load knows. */
export const HISTORY_ROOM_ID = '00000000-0000-7000-8000-0000000000b1';
const SENDER_ID = '00000000-0000-7000-8000-0000000000b2';

/**
 * Builds a SQLite database holding one room with `count` messages, without the
 * API: the server's own migrations first, then one transaction of prepared
 * inserts, and rooms.last_seq set to match (the seq invariant the server keeps).
 */
export async function seedHistory(file: string, count: number): Promise<void> {
  const db = connectDatabase<Database>({ dialect: 'sqlite', file });
  await migrateToLatest(db);
  await db.destroy();

  const sqlite = new SQLite(file);
  try {
    // Seeding only (the file is thrown away if this dies half-way): no journal, no fsync.
    sqlite.pragma('journal_mode = OFF');
    sqlite.pragma('synchronous = OFF');
    const now = Date.now();
    const createdAt = (seq: number) => new Date(now - (count - seq) * 1000).toISOString();
    sqlite.transaction(() => {
      sqlite
        .prepare('INSERT INTO users (id, nickname, tag, handle, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(SENDER_ID, 'historian', '0001', 'historian#0001', createdAt(0));
      sqlite.prepare('INSERT INTO rooms (id, title, created_at, last_seq) VALUES (?, ?, ?, ?)').run(HISTORY_ROOM_ID, 'history', createdAt(0), count);
      const insert = sqlite.prepare(
        'INSERT INTO messages (id, room_id, seq, sender_id, body, client_message_id, created_at) VALUES (?, ?, ?, ?, ?, NULL, ?)',
      );
      for (let seq = 1; seq <= count; seq++) insert.run(uuidv7(), HISTORY_ROOM_ID, seq, SENDER_ID, `history message number ${seq}`, createdAt(seq));
    })();
    sqlite.pragma('journal_mode = WAL');
  } finally {
    sqlite.close();
  }
}
