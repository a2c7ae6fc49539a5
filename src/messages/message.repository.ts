import type { Transaction } from 'kysely';
import type { Db } from '../database.js';
import type { Database } from '../database.js';
import { userOf } from '../identity/user.js';
import type { MessageRow, NewMessageRow } from './message.table.js';
import type { Message } from './message.js';

const MESSAGE_WITH_SENDER = [
  'messages.id',
  'messages.room_id',
  'messages.seq',
  'messages.body',
  'messages.client_message_id',
  'messages.created_at',
  'users.id as sender_id',
  'users.nickname as sender_nickname',
  'users.tag as sender_tag',
] as const;

type MessageWithSenderRow = Pick<MessageRow, 'id' | 'room_id' | 'seq' | 'body' | 'client_message_id' | 'created_at' | 'sender_id'> & {
  sender_nickname: string;
  sender_tag: string;
};

export function messageRowToMessage(row: MessageWithSenderRow): Message {
  return {
    id: row.id,
    roomId: row.room_id,
    seq: row.seq,
    sender: userOf(row.sender_id, row.sender_nickname, row.sender_tag),
    body: row.body,
    createdAt: row.created_at,
    clientMessageId: row.client_message_id,
  };
}

export class MessageRepository {
  constructor(private readonly db: Db) {}

  transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }

  /**
   * Claims `count` consecutive seqs; returns the last of them, or null when the room does not exist.
   * The same UPDATE marks the room active at `at` (directRooms order) at no extra statement;
   * never backwards, whatever another instance's clock says.
   */
  async claimSeqs(trx: Transaction<Database>, roomId: string, count: number, at: string): Promise<number | null> {
    const row = await trx
      .updateTable('rooms')
      .set((eb) => ({
        last_seq: eb('last_seq', '+', count),
        last_activity_at: eb.case().when('last_activity_at', '<', at).then(at).else(eb.ref('last_activity_at')).end(),
      }))
      .where('id', '=', roomId)
      .returning('last_seq')
      .executeTakeFirst();
    return row?.last_seq ?? null;
  }

  /** One INSERT for many messages; rows whose (room, sender, clientMessageId) is taken are left out of the result. */
  async insertManyIfNew(trx: Transaction<Database>, messages: NewMessageRow[]): Promise<MessageRow[]> {
    if (messages.length === 0) return [];
    return trx
      .insertInto('messages')
      .values(messages)
      .onConflict((oc) => oc.columns(['room_id', 'sender_id', 'client_message_id']).doNothing())
      .returningAll()
      .execute();
  }

  async findByClientMessageId(roomId: string, senderId: string, clientMessageId: string): Promise<Message | null> {
    const row = await this.withSender()
      .where('messages.room_id', '=', roomId)
      .where('messages.sender_id', '=', senderId)
      .where('messages.client_message_id', '=', clientMessageId)
      .executeTakeFirst();
    return row ? messageRowToMessage(row) : null;
  }

  async findSeq(roomId: string, messageId: string): Promise<number | null> {
    const row = await this.db
      .selectFrom('messages')
      .select('seq')
      .where('id', '=', messageId)
      .where('room_id', '=', roomId)
      .executeTakeFirst();
    return row?.seq ?? null;
  }

  /** The seq of the room's newest committed message (0 when empty). */
  async latestSeq(roomId: string): Promise<number> {
    const row = await this.db.selectFrom('rooms').select('last_seq').where('id', '=', roomId).executeTakeFirst();
    return row?.last_seq ?? 0;
  }

  /** The newest `limit` messages below `beforeSeq`, newest first; a (room_id, seq) index range scan. */
  async listBefore(roomId: string, beforeSeq: number | null, limit: number): Promise<Message[]> {
    let query = this.withSender().where('messages.room_id', '=', roomId).orderBy('messages.seq', 'desc').limit(limit);
    if (beforeSeq !== null) query = query.where('messages.seq', '<', beforeSeq);
    return (await query.execute()).map(messageRowToMessage);
  }

  /** Messages after `afterSeq`, oldest first: replay and gap filling. */
  async listAfter(roomId: string, afterSeq: number, limit: number): Promise<Message[]> {
    const rows = await this.withSender()
      .where('messages.room_id', '=', roomId)
      .where('messages.seq', '>', afterSeq)
      .orderBy('messages.seq', 'asc')
      .limit(limit)
      .execute();
    return rows.map(messageRowToMessage);
  }

  async findById(messageId: string): Promise<Message | null> {
    const row = await this.withSender().where('messages.id', '=', messageId).executeTakeFirst();
    return row ? messageRowToMessage(row) : null;
  }

  private withSender() {
    return this.db.selectFrom('messages').innerJoin('users', 'users.id', 'messages.sender_id').select(MESSAGE_WITH_SENDER);
  }
}
