import { notFound } from '../errors.js';
import type { User } from '../identity/user.js';
import { uuidv7 } from '../infrastructure/ids.js';
import { isDatabaseBusy } from '../infrastructure/db/busy.js';
import { messageRowToMessage, type MessageRepository } from './message.repository.js';
import type { MessageRow, NewMessageRow } from './message.table.js';
import type { Message } from './message.js';

export interface NewMessage {
  sender: User;
  roomId: string;
  body: string;
  clientMessageId: string | null;
}

interface Pending {
  message: NewMessage;
  resolve: (result: Written) => void;
  reject: (error: unknown) => void;
}

/** What became of a send: stored now, or an earlier message with the same clientMessageId. */
export type Written = { message: Message; created: boolean };

/** Enough to amortise a transaction, small enough to keep one batch's latency low. */
const MAX_BATCH = 256;

/**
 * Group commit for sendMessage. Sends that arrive while a write is in flight are
 * stored together in one transaction: per room one UPDATE claims a run of seqs
 * (a row lock on PostgreSQL, the single writer on SQLite, so seqs stay unique
 * and gap-free across instances) and one multi-row INSERT stores them. Under
 * load that is a handful of statements per batch instead of per message; alone,
 * a send is written at once.
 */
export class MessageWriter {
  private queue: Pending[] = [];
  private writing = false;

  constructor(private readonly messages: MessageRepository) {}

  /** Sends queued behind the write in flight. */
  get pending(): number {
    return this.queue.length;
  }

  write(message: NewMessage): Promise<Written> {
    return new Promise((resolve, reject) => {
      this.queue.push({ message, resolve, reject });
      if (this.writing) return;
      this.writing = true;
      // Wait out the current turn of the event loop: the other requests read in the same turn
      // join this batch. (On SQLite a write never yields, so without this every batch is one send.)
      setImmediate(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          await this.writeBatch(batch);
        } catch (error) {
          // Busy (a lock held elsewhere): every send would wait the same; they fail together, to be retried.
          if (batch.length === 1 || isDatabaseBusy(error)) for (const pending of batch) pending.reject(error);
          // One bad send must not fail its neighbours: write them one by one, so only it fails.
          else for (const pending of batch) await this.writeBatch([pending]).catch(pending.reject);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  /**
   * Writes a batch; entries whose clientMessageId turns out to be taken (a retry
   * racing its original, possibly on another instance) are answered with the
   * stored message and the rest written again, so no seq is ever skipped.
   */
  private async writeBatch(batch: Pending[]): Promise<void> {
    let remaining = dedupe(batch);
    while (remaining.length > 0) {
      const outcome = await this.tryWrite(remaining);
      for (const [pending, row] of outcome.written) pending.resolve({ message: toMessage(row, pending.message.sender), created: true });
      if (outcome.conflicts.length === 0) return;
      for (const pending of outcome.conflicts) {
        const { roomId, sender, clientMessageId } = pending.message;
        const earlier = await this.messages.findByClientMessageId(roomId, sender.id, clientMessageId!);
        if (earlier) pending.resolve({ message: earlier, created: false });
        else pending.reject(new Error('clientMessageId conflict without a stored message'));
      }
      remaining = outcome.retry;
    }
  }

  private async tryWrite(batch: Pending[]): Promise<{ written: [Pending, MessageRow][]; conflicts: Pending[]; retry: Pending[] }> {
    const byRoom = new Map<string, Pending[]>();
    for (const pending of batch) {
      const list = byRoom.get(pending.message.roomId);
      if (list) list.push(pending);
      else byRoom.set(pending.message.roomId, [pending]);
    }
    const missingRooms: Pending[] = [];
    const result = await this.messages
      .transaction(async (trx) => {
        const rows: NewMessageRow[] = [];
        const owners: Pending[] = [];
        const createdAt = new Date().toISOString();
        // Rooms in one order everywhere, so two instances' batches never deadlock on each other's locks.
        for (const roomId of [...byRoom.keys()].sort()) {
          const entries = byRoom.get(roomId)!;
          const lastSeq = await this.messages.claimSeqs(trx, roomId, entries.length, createdAt);
          if (lastSeq === null) {
            missingRooms.push(...entries);
            continue;
          }
          entries.forEach((pending, index) => {
            const { sender, body, clientMessageId } = pending.message;
            rows.push({ id: uuidv7(), room_id: roomId, seq: lastSeq - entries.length + 1 + index, sender_id: sender.id, body, client_message_id: clientMessageId, created_at: createdAt });
            owners.push(pending);
          });
        }
        const inserted = await this.messages.insertManyIfNew(trx, rows);
        if (inserted.length < rows.length) {
          // Some clientMessageId is taken: roll back (the claimed seqs with it) and retry without those.
          const stored = new Set(inserted.map((row) => row.id));
          throw new Conflicts(owners.filter((_, index) => !stored.has(rows[index]!.id)));
        }
        const byId = new Map(inserted.map((row) => [row.id, row]));
        return owners.map((pending, index) => [pending, byId.get(rows[index]!.id)!] as [Pending, MessageRow]);
      })
      .catch((error: unknown) => {
        if (error instanceof Conflicts) return error;
        throw error;
      });
    for (const pending of missingRooms) pending.reject(notFound(`room "${pending.message.roomId.slice(0, 64)}" does not exist`));
    if (result instanceof Conflicts) {
      const conflicting = new Set(result.entries);
      return { written: [], conflicts: result.entries, retry: batch.filter((p) => !conflicting.has(p) && !missingRooms.includes(p)) };
    }
    return { written: result, conflicts: [], retry: [] };
  }
}

class Conflicts {
  constructor(readonly entries: Pending[]) {}
}

/** Two sends of one clientMessageId in one batch are one message: the second shares the first's answer. */
function dedupe(batch: Pending[]): Pending[] {
  const first = new Map<string, Pending>();
  const unique: Pending[] = [];
  for (const pending of batch) {
    const { roomId, sender, clientMessageId } = pending.message;
    if (clientMessageId === null) {
      unique.push(pending);
      continue;
    }
    const key = `${roomId}\u0000${sender.id}\u0000${clientMessageId}`;
    const original = first.get(key);
    if (!original) {
      first.set(key, pending);
      unique.push(pending);
      continue;
    }
    const { resolve, reject } = original;
    original.resolve = (result) => {
      resolve(result);
      pending.resolve({ message: result.message, created: false });
    };
    original.reject = (error) => {
      reject(error);
      pending.reject(error);
    };
  }
  return unique;
}

function toMessage(row: MessageRow, sender: User): Message {
  return messageRowToMessage({ ...row, sender_nickname: sender.nickname, sender_tag: sender.tag });
}
