import type { GraphQLError } from 'graphql';
import { beforeEach, describe, expect, it } from 'vitest';
import type { User } from '../../src/identity/user.js';
import type { MessageRepository } from '../../src/messages/message.repository.js';
import type { MessageRow, NewMessageRow } from '../../src/messages/message.table.js';
import type { Message } from '../../src/messages/message.js';
import { MessageWriter, type NewMessage, type Written } from '../../src/messages/message.writer.js';
import { ALICE, BOB } from '../helpers/fakes.js';
import { deferred } from '../helpers/wait.js';

interface Tables {
  /** room id → last_seq */
  rooms: Map<string, number>;
  messages: MessageRow[];
}

/**
 * The repository the writer uses, in memory: a transaction works on a copy of
 * the tables that replaces them when the work resolves and is dropped when it throws.
 */
class FakeMessageRepository {
  private tables: Tables = { rooms: new Map(), messages: [] };
  private readonly users = new Map<string, User>([ALICE, BOB].map((user) => [user.id, user]));
  transactions = 0;
  rolledBack = 0;
  /** The rows of every insertManyIfNew call, committed or not. */
  readonly inserts: NewMessageRow[][] = [];
  /** Makes an insert throw, as a database refusing one row would. */
  rejectRow: ((row: NewMessageRow) => unknown) | null = null;
  /** While set, every transaction waits for it before its work starts. */
  gate: Promise<void> | null = null;

  constructor(rooms: Record<string, number>) {
    for (const [id, lastSeq] of Object.entries(rooms)) this.tables.rooms.set(id, lastSeq);
  }

  /** What is committed. */
  get committed(): Tables {
    return this.tables;
  }

  seqsOf(roomId: string): number[] {
    return this.tables.messages.filter((m) => m.room_id === roomId).map((m) => m.seq);
  }

  async transaction<T>(work: (trx: Tables) => Promise<T>): Promise<T> {
    this.transactions++;
    if (this.gate) await this.gate;
    const copy: Tables = { rooms: new Map(this.tables.rooms), messages: [...this.tables.messages] };
    try {
      const result = await work(copy);
      this.tables = copy;
      return result;
    } catch (error) {
      this.rolledBack++;
      throw error;
    }
  }

  async claimSeqs(trx: Tables, roomId: string, count: number): Promise<number | null> {
    const last = trx.rooms.get(roomId);
    if (last === undefined) return null;
    trx.rooms.set(roomId, last + count);
    return last + count;
  }

  async insertManyIfNew(trx: Tables, rows: NewMessageRow[]): Promise<MessageRow[]> {
    this.inserts.push(rows);
    const inserted: MessageRow[] = [];
    for (const row of rows) {
      const refusal = this.rejectRow?.(row);
      if (refusal) throw refusal;
      if (trx.messages.some((m) => m.room_id === row.room_id && m.seq === row.seq)) throw new Error(`duplicate seq ${row.seq} in ${row.room_id}`);
      const taken =
        row.client_message_id != null &&
        trx.messages.some((m) => m.room_id === row.room_id && m.sender_id === row.sender_id && m.client_message_id === row.client_message_id);
      if (taken) continue;
      const stored = { ...row, client_message_id: row.client_message_id ?? null } as MessageRow;
      trx.messages.push(stored);
      inserted.push(stored);
    }
    return inserted;
  }

  async findByClientMessageId(roomId: string, senderId: string, clientMessageId: string): Promise<Message | null> {
    const row = this.tables.messages.find((m) => m.room_id === roomId && m.sender_id === senderId && m.client_message_id === clientMessageId);
    if (!row) return null;
    return { id: row.id, roomId: row.room_id, seq: row.seq, sender: this.users.get(row.sender_id)!, body: row.body, createdAt: row.created_at, clientMessageId: row.client_message_id };
  }
}

const send = (roomId: string, body: string, clientMessageId: string | null = null, sender: User = ALICE): NewMessage => ({ sender, roomId, body, clientMessageId });
const seqs = (results: Written[]) => results.map((r) => r.message.seq);

describe('MessageWriter', () => {
  let repository: FakeMessageRepository;
  let writer: MessageWriter;

  beforeEach(() => {
    repository = new FakeMessageRepository({ 'room-a': 10, 'room-b': 0 });
    writer = new MessageWriter(repository as unknown as MessageRepository);
  });

  it('writes the sends of one event-loop turn in one transaction, with consecutive seqs in the order they came', async () => {
    const results = await Promise.all(['one', 'two', 'three', 'four', 'five'].map((body) => writer.write(send('room-a', body))));
    expect(repository.transactions).toBe(1);
    expect(seqs(results)).toEqual([11, 12, 13, 14, 15]);
    expect(results.map((r) => [r.message.body, r.created])).toEqual(['one', 'two', 'three', 'four', 'five'].map((body) => [body, true]));
    expect(results[0]!.message.sender).toEqual(ALICE);
    expect(repository.committed.rooms.get('room-a')).toBe(15);
    expect(repository.seqsOf('room-a')).toEqual([11, 12, 13, 14, 15]);
  });

  it('gives each room of a batch its own gap-free run of seqs', async () => {
    const results = await Promise.all([
      writer.write(send('room-a', 'a1')),
      writer.write(send('room-b', 'b1')),
      writer.write(send('room-a', 'a2', null, BOB)),
      writer.write(send('room-b', 'b2')),
      writer.write(send('room-a', 'a3')),
    ]);
    expect(repository.transactions).toBe(1);
    expect(results.map((r) => `${r.message.body}@${r.message.roomId}#${r.message.seq}`)).toEqual([
      'a1@room-a#11',
      'b1@room-b#1',
      'a2@room-a#12',
      'b2@room-b#2',
      'a3@room-a#13',
    ]);
    expect(results[2]!.message.sender).toEqual(BOB);
    expect(repository.committed.rooms.get('room-b')).toBe(2);
  });

  it('writes a send alone at once, and the sends that arrive meanwhile together in the next transaction', async () => {
    const open = deferred();
    repository.gate = open.promise;
    const first = writer.write(send('room-a', 'first'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(repository.transactions).toBe(1);
    const meanwhile = ['second', 'third', 'fourth'].map((body) => writer.write(send('room-a', body)));
    repository.gate = null;
    open.resolve();
    expect(seqs([await first, ...(await Promise.all(meanwhile))])).toEqual([11, 12, 13, 14]);
    expect(repository.transactions).toBe(2);
    expect(repository.inserts.map((rows) => rows.length)).toEqual([1, 3]);
  });

  it('caps a batch at 256 sends', async () => {
    const results = await Promise.all(Array.from({ length: 300 }, (_, n) => writer.write(send('room-b', `m${n}`))));
    expect(repository.inserts.map((rows) => rows.length)).toEqual([256, 44]);
    expect(repository.transactions).toBe(2);
    expect(seqs(results)).toEqual(Array.from({ length: 300 }, (_, n) => n + 1));
  });

  describe('clientMessageId', () => {
    it('answers a retry whose id is already stored with the stored message, and writes the rest without a gap', async () => {
      const original = await writer.write(send('room-a', 'on my way', 'c-1'));
      const transactionsBefore = repository.transactions;
      const [before, retry, after] = await Promise.all([
        writer.write(send('room-a', 'before')),
        writer.write(send('room-a', 'on my way (again)', 'c-1')),
        writer.write(send('room-a', 'after')),
      ]);
      expect(retry).toEqual({ message: original.message, created: false });
      expect(before!.created && after!.created).toBe(true);
      expect([before!.message.seq, after!.message.seq]).toEqual([12, 13]);
      // The first attempt claimed three seqs and was rolled back; the second wrote two.
      expect(repository.transactions - transactionsBefore).toBe(2);
      expect(repository.rolledBack).toBe(1);
      expect(repository.seqsOf('room-a')).toEqual([11, 12, 13]);
      expect(repository.committed.rooms.get('room-a')).toBe(13);
    });

    it('stores one message for two sends of the same id in one batch; the second is answered with it', async () => {
      const [first, second, other] = await Promise.all([
        writer.write(send('room-a', 'hello', 'c-2')),
        writer.write(send('room-a', 'hello', 'c-2')),
        writer.write(send('room-a', 'hello', 'c-2', BOB)),
      ]);
      expect(first!.created).toBe(true);
      expect(second).toEqual({ message: first!.message, created: false });
      // The same id from someone else is another message.
      expect(other!.created).toBe(true);
      expect(other!.message.id).not.toBe(first!.message.id);
      expect(repository.seqsOf('room-a')).toEqual([11, 12]);
      expect(repository.transactions).toBe(1);
    });

    it('answers both sends of one id in a batch with the stored message when a retry of both arrives', async () => {
      const original = await writer.write(send('room-a', 'hello', 'c-3'));
      const [again, andAgain, fresh] = await Promise.all([
        writer.write(send('room-a', 'hello', 'c-3')),
        writer.write(send('room-a', 'hello', 'c-3')),
        writer.write(send('room-a', 'fresh')),
      ]);
      expect(again).toEqual({ message: original.message, created: false });
      expect(andAgain).toEqual({ message: original.message, created: false });
      expect(fresh!.message.seq).toBe(12);
      expect(repository.seqsOf('room-a')).toEqual([11, 12]);
    });
  });

  describe('failures', () => {
    it('fails only the send that broke its batch; its neighbours are written, gap-free', async () => {
      const refusal = new Error('value too long');
      repository.rejectRow = (row) => (row.body === 'bad' ? refusal : null);
      const outcomes = await Promise.allSettled([
        writer.write(send('room-a', 'good 1')),
        writer.write(send('room-a', 'bad')),
        writer.write(send('room-a', 'good 2')),
      ]);
      expect(outcomes[1]).toEqual({ status: 'rejected', reason: refusal });
      expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value.message.seq : null))).toEqual([11, null, 12]);
      expect(repository.seqsOf('room-a')).toEqual([11, 12]);
      expect(repository.committed.messages.map((m) => m.body)).toEqual(['good 1', 'good 2']);
    });

    it('still shares one answer between two sends of one id when a neighbour broke the batch', async () => {
      repository.rejectRow = (row) => (row.body === 'bad' ? new Error('refused') : null);
      const [first, bad, second] = await Promise.allSettled([
        writer.write(send('room-a', 'hello', 'c-4')),
        writer.write(send('room-a', 'bad')),
        writer.write(send('room-a', 'hello', 'c-4')),
      ]);
      expect(bad!.status).toBe('rejected');
      expect(first).toMatchObject({ status: 'fulfilled', value: { created: true } });
      expect(second).toEqual({ status: 'fulfilled', value: { message: (first as PromiseFulfilledResult<Written>).value.message, created: false } });
      expect(repository.seqsOf('room-a')).toEqual([11]);
    });

    it('rejects the sends to a missing room with NOT_FOUND and writes the others of the batch', async () => {
      const outcomes = await Promise.allSettled([
        writer.write(send('room-a', 'here')),
        writer.write(send('room-gone', 'nowhere')),
        writer.write(send('room-b', 'there')),
        writer.write(send('room-gone', 'nowhere either')),
      ]);
      for (const index of [1, 3]) {
        const outcome = outcomes[index]!;
        expect(outcome.status).toBe('rejected');
        expect(((outcome as PromiseRejectedResult).reason as GraphQLError).extensions.code).toBe('NOT_FOUND');
        expect(((outcome as PromiseRejectedResult).reason as GraphQLError).message).toContain('room-gone');
      }
      expect(outcomes.map((o) => (o.status === 'fulfilled' ? `${o.value.message.roomId}#${o.value.message.seq}` : null))).toEqual([
        'room-a#11',
        null,
        'room-b#1',
        null,
      ]);
      expect(repository.transactions).toBe(1);
    });

    it('rejects a missing room once and still writes the rest when the batch also has a taken clientMessageId', async () => {
      const original = await writer.write(send('room-a', 'hi', 'c-5'));
      const outcomes = await Promise.allSettled([
        writer.write(send('room-gone', 'nowhere')),
        writer.write(send('room-a', 'hi', 'c-5')),
        writer.write(send('room-a', 'new')),
      ]);
      expect(outcomes[0]).toMatchObject({ status: 'rejected', reason: { extensions: { code: 'NOT_FOUND' } } });
      expect(outcomes[1]).toEqual({ status: 'fulfilled', value: { message: original.message, created: false } });
      expect(outcomes[2]).toMatchObject({ status: 'fulfilled', value: { created: true, message: { seq: 12 } } });
      expect(repository.seqsOf('room-a')).toEqual([11, 12]);
    });

    it('keeps writing after a failed batch', async () => {
      repository.rejectRow = () => new Error('database away');
      await expect(writer.write(send('room-a', 'lost'))).rejects.toThrow('database away');
      repository.rejectRow = null;
      expect((await writer.write(send('room-a', 'back'))).message.seq).toBe(11);
    });
  });
});
