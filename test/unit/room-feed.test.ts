import { beforeEach, describe, expect, it } from 'vitest';
import type { Message } from '../../src/messages/message.js';
import { RoomFeeds, type FeedMember, type FeedStore } from '../../src/messages/room-feed.js';
import { CallGate, FakePubSub, flush, messageAt, silentLogger } from '../helpers/fakes.js';

const ROOM = 'room-1';

/** The messages table as the feed reads it: committed rows, with reads that can be held or made to fail. */
class FakeFeedStore implements FeedStore {
  private readonly rows = new Map<string, Message[]>();
  readonly listAfterCalls = new CallGate();
  readonly latestSeqCalls = new CallGate();
  readonly reads: { roomId: string; afterSeq: number }[] = [];
  private failures: unknown[] = [];

  /** Commits messages 1..seq of the room that are not there yet. */
  commitUpTo(seq: number, roomId = ROOM): Message[] {
    const rows = this.rows.get(roomId) ?? [];
    this.rows.set(roomId, rows);
    const added: Message[] = [];
    for (let next = (rows.at(-1)?.seq ?? 0) + 1; next <= seq; next++) added.push(messageAt(next, roomId));
    rows.push(...added);
    return added;
  }

  /** The next listAfter fails with `error`. */
  failNextRead(error: unknown): void {
    this.failures.push(error);
  }

  async listAfter(roomId: string, afterSeq: number, limit: number): Promise<Message[]> {
    this.reads.push({ roomId, afterSeq });
    if (this.failures.length > 0) throw this.failures.shift();
    const rows = (this.rows.get(roomId) ?? []).filter((row) => row.seq > afterSeq).slice(0, limit);
    return this.listAfterCalls.pass(rows);
  }

  async latestSeq(roomId: string): Promise<number> {
    return this.latestSeqCalls.pass(this.rows.get(roomId)?.at(-1)?.seq ?? 0);
  }
}

/** A subscriber that keeps the seqs it was handed, in order. */
function recorder(): FeedMember & { seqs: number[] } {
  const seqs: number[] = [];
  return { lastSeq: 0, feed: null, seqs, deliver: (message) => void seqs.push(message.seq) };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('RoomFeeds', () => {
  let pubsub: FakePubSub;
  let store: FakeFeedStore;
  let feeds: RoomFeeds;
  /** Commits up to `seq` and publishes only `seq` (earlier ones were published, lost or are late). */
  const publish = (seq: number, roomId = ROOM) => {
    store.commitUpTo(seq, roomId);
    pubsub.emit('room.message', roomId, messageAt(seq, roomId));
  };
  /** A member that joined without a resume point. */
  const joinLive = async () => {
    const member = recorder();
    await feeds.join(ROOM, null, member);
    return member;
  };
  /** Publishes an already committed message (a late or repeated event). */
  const republish = (seq: number, roomId = ROOM) => pubsub.emit('room.message', roomId, messageAt(seq, roomId));

  beforeEach(() => {
    pubsub = new FakePubSub();
    store = new FakeFeedStore();
    feeds = new RoomFeeds(pubsub, store, silentLogger);
    store.commitUpTo(3);
  });

  describe('live delivery', () => {
    it('delivers each new message once, in seq order, however often its event arrives', async () => {
      const member = await joinLive();
      publish(4);
      publish(5);
      republish(5);
      republish(4);
      republish(3);
      publish(6);
      await flush();
      expect(member.seqs).toEqual([4, 5, 6]);
      expect(member.lastSeq).toBe(6);
      // In order with nothing missing, the store is never asked.
      expect(store.reads).toEqual([]);
    });

    it('without a resume point starts after the newest committed message', async () => {
      const member = await joinLive();
      republish(2);
      republish(3);
      publish(4);
      await flush();
      expect(member.seqs).toEqual([4]);
    });

    it('holds an event that arrives ahead of a gap until the gap is filled from the store', async () => {
      const member = await joinLive();
      const read = store.listAfterCalls.hold();
      store.commitUpTo(5); // 4 and 5 are committed, their events late
      publish(6);
      await read.called;
      await flush();
      // 6 waits for 4 and 5: nothing goes out before the store answers.
      expect(member.seqs).toEqual([]);
      expect(store.reads).toEqual([{ roomId: ROOM, afterSeq: 3 }]);
      read.release();
      await flush();
      expect(member.seqs).toEqual([4, 5, 6]);
      // The late events themselves are then duplicates.
      republish(4);
      republish(5);
      publish(7);
      await flush();
      expect(member.seqs).toEqual([4, 5, 6, 7]);
    });

    it('lets the late event itself fill the gap when it beats the store', async () => {
      const member = await joinLive();
      const read = store.listAfterCalls.hold();
      publish(4);
      store.commitUpTo(6);
      republish(6);
      await read.called;
      republish(5);
      // 5 arrived in order: it and the 6 held behind it go out without waiting for the store.
      expect(member.seqs).toEqual([4, 5, 6]);
      read.release();
      await flush();
      expect(member.seqs).toEqual([4, 5, 6]);
      publish(7);
      expect(member.seqs).toEqual([4, 5, 6, 7]);
    });

    it('fills in a lost event when the next one shows the gap', async () => {
      const member = await joinLive();
      store.commitUpTo(4); // committed, its event lost
      await flush();
      expect(member.seqs).toEqual([]);
      publish(5);
      await flush();
      expect(member.seqs).toEqual([4, 5]);
    });

    it('after a failed read, tries again on the next event', async () => {
      const member = await joinLive();
      store.failNextRead(new Error('database away'));
      store.commitUpTo(4);
      publish(5);
      await flush();
      expect(member.seqs).toEqual([]);
      publish(6);
      await flush();
      expect(member.seqs).toEqual([4, 5, 6]);
    });

    it('keeps reading while an event waits behind the rows it got', async () => {
      const member = await joinLive();
      const first = store.listAfterCalls.hold();
      store.commitUpTo(4);
      publish(5);
      await first.called;
      // 6 and 7 are committed after the running read took its rows (4, 5); 6's event is lost.
      store.commitUpTo(6);
      publish(7);
      first.release();
      await flush();
      expect(member.seqs).toEqual([4, 5, 6, 7]);
    });

    it('reads again when a resync comes while a fill is already reading', async () => {
      const member = await joinLive();
      const first = store.listAfterCalls.hold();
      store.commitUpTo(4);
      publish(5);
      await first.called;
      // 6 is committed after the running read took its rows, and its event is lost in an outage.
      store.commitUpTo(6);
      pubsub.resync();
      first.release();
      await flush();
      // No later event shows the gap: only the read the resync asked for finds 6.
      expect(member.seqs).toEqual([4, 5, 6]);
    });

    it('reads every message from the store in batches when the gap is longer than one read', async () => {
      const member = await joinLive();
      publish(1_203);
      await flush();
      expect(member.seqs).toEqual(range(4, 1_203));
    });

    it('re-reads from the store when the pub/sub reports a resync, with no event to show the gap', async () => {
      const member = await joinLive();
      store.commitUpTo(5); // published while the link was down
      pubsub.resync();
      await flush();
      expect(member.seqs).toEqual([4, 5]);
      publish(6);
      await flush();
      expect(member.seqs).toEqual([4, 5, 6]);
    });

    it('keeps delivering to the others when one member throws', async () => {
      const broken: FeedMember & { calls: number } = {
        lastSeq: 0,
        feed: null,
        calls: 0,
        deliver() {
          this.calls++;
          throw new Error('socket gone');
        },
      };
      const before = recorder();
      const after = recorder();
      await feeds.join(ROOM, null, before);
      await feeds.join(ROOM, null, broken);
      await feeds.join(ROOM, null, after);
      publish(4);
      publish(5);
      await flush();
      expect(before.seqs).toEqual([4, 5]);
      expect(after.seqs).toEqual([4, 5]);
      expect(broken.calls).toBe(2);
    });

    it('keeps rooms apart', async () => {
      store.commitUpTo(7, 'room-2');
      const one = recorder();
      const two = recorder();
      await feeds.join(ROOM, null, one);
      await feeds.join('room-2', null, two);
      publish(8, 'room-2');
      publish(4);
      await flush();
      expect(one.seqs).toEqual([4]);
      expect(two.seqs).toEqual([8]);
    });
  });

  describe('joining with a resume point', () => {
    it('replays what came after it from the store, then goes on live', async () => {
      store.commitUpTo(10);
      const member = recorder();
      await feeds.join(ROOM, 5, member);
      expect(member.seqs).toEqual([6, 7, 8, 9, 10]);
      publish(11);
      await flush();
      expect(member.seqs).toEqual(range(6, 11));
    });

    it('misses nothing dispatched while its replay is being read, and doubles nothing', async () => {
      store.commitUpTo(10);
      const live = recorder();
      await feeds.join(ROOM, null, live);
      const replayRead = store.listAfterCalls.hold();
      const resuming = recorder();
      const joined = feeds.join(ROOM, 5, resuming);
      await replayRead.called;
      // Its first read has taken 6..10; 11 and 12 go out live meanwhile.
      publish(11);
      publish(12);
      expect(live.seqs).toEqual([11, 12]);
      replayRead.release();
      await joined;
      expect(resuming.seqs).toEqual(range(6, 12));
      publish(13);
      await flush();
      expect(resuming.seqs).toEqual(range(6, 13));
      expect(live.seqs).toEqual([11, 12, 13]);
    });

    it('skips the live copy of a message its replay already read ahead of the feed', async () => {
      store.commitUpTo(10);
      const live = recorder();
      await feeds.join(ROOM, null, live);
      store.commitUpTo(11); // committed, its event still on the way
      const resuming = recorder();
      await feeds.join(ROOM, 5, resuming);
      expect(resuming.seqs).toEqual(range(6, 11));
      republish(11);
      publish(12);
      await flush();
      expect(resuming.seqs).toEqual(range(6, 12));
      expect(live.seqs).toEqual([11, 12]);
    });

    it('stops a replay when its member leaves meanwhile, and never makes it live', async () => {
      store.commitUpTo(10);
      const stays = recorder();
      await feeds.join(ROOM, null, stays);
      const replayRead = store.listAfterCalls.hold();
      const leaving = recorder();
      const joined = feeds.join(ROOM, 5, leaving);
      await replayRead.called;
      feeds.leave(leaving);
      replayRead.release();
      await joined;
      publish(11);
      await flush();
      expect(leaving.seqs).toEqual([]);
      expect(leaving.feed).toBeNull();
      expect(stays.seqs).toEqual([11]);
    });

    it('neither loses nor doubles events that arrive while the feed is starting', async () => {
      store.commitUpTo(10);
      const start = store.latestSeqCalls.hold();
      const member = recorder();
      const joined = feeds.join(ROOM, 8, member);
      await start.called;
      // The feed has subscribed and read latestSeq = 10; 10's event and a new 11 arrive before the answer.
      republish(10);
      publish(11);
      start.release();
      await joined;
      publish(12);
      await flush();
      expect(member.seqs).toEqual([9, 10, 11, 12]);
    });

    it('replays a history longer than one read', async () => {
      store.commitUpTo(1_100);
      const member = recorder();
      await feeds.join(ROOM, 0, member);
      expect(member.seqs).toEqual(range(1, 1_100));
    });
  });

  describe('membership', () => {
    it('holds one pub/sub subscription per room however many members, released when the last leaves', async () => {
      const members = [recorder(), recorder(), recorder()];
      await Promise.all(members.map((member) => feeds.join(ROOM, null, member)));
      expect(pubsub.subscriptions).toHaveLength(1);
      feeds.leave(members[0]!);
      feeds.leave(members[1]!);
      expect(pubsub.active('room.message', ROOM)).toBe(1);
      feeds.leave(members[2]!);
      await flush();
      expect(pubsub.active('room.message', ROOM)).toBe(0);
    });

    it('counts a leave once however often it is called', async () => {
      const stays = recorder();
      await feeds.join(ROOM, null, stays);
      const leaving = recorder();
      await feeds.join(ROOM, null, leaving);
      feeds.leave(leaving);
      feeds.leave(leaving);
      await flush();
      expect(pubsub.active('room.message', ROOM)).toBe(1);
      publish(4);
      expect(stays.seqs).toEqual([4]);
    });

    it('opens a fresh feed for a join after the last member left', async () => {
      const first = recorder();
      await feeds.join(ROOM, null, first);
      publish(4);
      feeds.leave(first);
      await flush();
      store.commitUpTo(6); // committed while nobody here listened
      const second = recorder();
      await feeds.join(ROOM, null, second);
      expect(pubsub.subscriptions).toHaveLength(2);
      expect(pubsub.active('room.message', ROOM)).toBe(1);
      publish(7);
      await flush();
      expect(first.seqs).toEqual([4]);
      expect(second.seqs).toEqual([7]);
    });

    it('opens a fresh feed for a join that was handed the feed the last member just closed', async () => {
      const first = recorder();
      await feeds.join(ROOM, null, first);
      const second = recorder();
      const joining = feeds.join(ROOM, null, second);
      feeds.leave(first);
      await joining;
      expect(pubsub.subscriptions).toHaveLength(2);
      expect(pubsub.active('room.message', ROOM)).toBe(1);
      publish(4);
      await flush();
      expect(second.seqs).toEqual([4]);
    });

    it('releases the subscription when the feed cannot start, and a later join tries again', async () => {
      const start = store.latestSeqCalls.hold();
      const failed = feeds.join(ROOM, null, recorder());
      await start.called;
      start.fail(new Error('database away'));
      await expect(failed).rejects.toThrow('database away');
      await flush();
      expect(pubsub.active('room.message', ROOM)).toBe(0);

      const member = await joinLive();
      expect(pubsub.active('room.message', ROOM)).toBe(1);
      publish(4);
      expect(member.seqs).toEqual([4]);
    });

    it('leaves the feed when a replay fails, so the last one out still closes it', async () => {
      store.commitUpTo(10);
      store.failNextRead(new Error('database away'));
      await expect(feeds.join(ROOM, 5, recorder())).rejects.toThrow('database away');
      await flush();
      expect(pubsub.active('room.message', ROOM)).toBe(0);
    });
  });
});
