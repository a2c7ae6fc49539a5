import SQLite from 'better-sqlite3';
import pg from 'pg';
import type { Acked, Failed } from './sender.js';

/** A stored message, read straight from the database (not through the API under test). */
export interface StoredMessage {
  id: string;
  seq: number;
  clientMessageId: string | null;
}

/** The room's messages with seq ≥ fromSeq, in seq order. `databaseUrl` is postgres://… or sqlite:<file>. */
export async function storedMessages(databaseUrl: string, roomId: string, fromSeq: number): Promise<StoredMessage[]> {
  const sql = 'SELECT id, seq, client_message_id FROM messages WHERE room_id = $1 AND seq >= $2 ORDER BY seq';
  type Raw = { id: string; seq: number | string; client_message_id: string | null };
  let raw: Raw[];
  if (databaseUrl.startsWith('sqlite:')) {
    const db = new SQLite(databaseUrl.slice('sqlite:'.length), { readonly: true, fileMustExist: true });
    try {
      raw = db.prepare(sql.replace('$1', '?').replace('$2', '?')).all(roomId, fromSeq) as Raw[];
    } finally {
      db.close();
    }
  } else {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      raw = (await client.query<Raw>(sql, [roomId, fromSeq])).rows;
    } finally {
      await client.end();
    }
  }
  return raw.map((r) => ({ id: r.id, seq: Number(r.seq), clientMessageId: r.client_message_id }));
}

export interface StorageCheck {
  stored: number;
  /** Seqs missing or repeated between the first and the last stored one. */
  seqProblems: number;
  /** Acknowledged sends stored exactly once, under the id the client was given. */
  ackedOnce: number;
  acked: number;
  /** Acknowledged sends stored zero or several times, or under another id. */
  ackedWrong: string[];
  /** Sends the client saw fail that are stored anyway (a failure that half-happened). */
  failedButStored: number;
  /** Rows whose clientMessageId no send of the drill used (e.g. probes), or stored twice. */
  unclaimed: number;
}

/** Every acknowledged send stored exactly once, every failed one not at all, seqs gap-free. */
export function checkStorage(rows: StoredMessage[], acked: Acked[], failed: Failed[]): StorageCheck {
  const byCmid = new Map<string, StoredMessage[]>();
  for (const row of rows) {
    if (row.clientMessageId === null) continue;
    const list = byCmid.get(row.clientMessageId);
    if (list) list.push(row);
    else byCmid.set(row.clientMessageId, [row]);
  }
  let seqProblems = 0;
  for (let i = 1; i < rows.length; i++) if (rows[i]!.seq !== rows[i - 1]!.seq + 1) seqProblems++;
  const ackedWrong: string[] = [];
  const claimed = new Set<string>();
  for (const ack of acked) {
    const found = byCmid.get(ack.clientMessageId) ?? [];
    claimed.add(ack.clientMessageId);
    if (found.length !== 1 || found[0]!.id !== ack.id) ackedWrong.push(`${ack.clientMessageId}: ${found.length} rows${found[0] && found[0].id !== ack.id ? ', another id' : ''}`);
  }
  let failedButStored = 0;
  for (const failure of failed) {
    claimed.add(failure.clientMessageId);
    if (byCmid.has(failure.clientMessageId)) failedButStored++;
  }
  let unclaimed = 0;
  for (const [cmid, list] of byCmid) if (!claimed.has(cmid)) unclaimed += list.length;
  return { stored: rows.length, seqProblems, ackedOnce: acked.length - ackedWrong.length, acked: acked.length, ackedWrong: ackedWrong.slice(0, 5), failedButStored, unclaimed };
}
