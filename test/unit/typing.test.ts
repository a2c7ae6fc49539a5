import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { userOf, type User } from '../../src/identity/user.js';
import { MemoryTypingStore, type TypingStore } from '../../src/typing/typing.store.js';
import { TYPING_BUDGET, TYPING_COALESCE_MS, TypingService } from '../../src/typing/typing.service.js';
import { TYPING_LAPSE_MS, usersOf, type Typist, type TypingView } from '../../src/typing/typing.js';
import { CallGate, FakePubSub, flush, silentLogger } from '../helpers/fakes.js';

const ROOM = 'room-1';
const userNo = (n: number): User => userOf(`user-${String(n).padStart(4, '0')}`, `Typist${n}`, String(n).padStart(4, '0'));
const WATCHER = userOf('user-watcher', 'Watcher', '9999');

/** The in-memory store, with reads that can be held (answer taken when the read is made, handed over on release). */
class GatedStore implements TypingStore {
  readonly inner = new MemoryTypingStore(TYPING_LAPSE_MS);
  readonly reads = new CallGate();
  start(roomId: string, user: User, expiresAt: number) {
    return this.inner.start(roomId, user, expiresAt);
  }
  stop(roomId: string, user: User) {
    return this.inner.stop(roomId, user);
  }
  async read(roomId: string): Promise<Typist[]> {
    return this.reads.pass(await this.inner.read(roomId));
  }
  close() {
    this.inner.close();
  }
}

describe('TypingService', () => {
  let pubsub: FakePubSub;
  let store: GatedStore;
  let typing: TypingService;
  /** What one subscriber was sent: the time (fake clock) and the ids, sorted. It renders its own view, as the general path does. */
  const record = () => {
    const seen: { at: number; ids: string[] }[] = [];
    const listener = (view: TypingView) => {
      const users = usersOf(view);
      seen.push({ at: Date.now(), ids: users.map((u) => u.id).sort() });
      return users.length;
    };
    return { seen, listener };
  };

  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-12-01T12:00:00Z') });
    pubsub = new FakePubSub();
    store = new GatedStore();
    typing = new TypingService(store, pubsub, silentLogger);
  });
  afterEach(() => {
    typing.close();
    vi.useRealTimers();
  });

  it('sends a room of 1,000 typists as at most one update per 300 ms, the last one complete and on time', async () => {
    const watcher = record();
    const typist = record();
    await typing.watch(ROOM, WATCHER.id, watcher.listener);
    await typing.watch(ROOM, userNo(0).id, typist.listener);
    const startedAt = Date.now();
    // 1,000 people start typing over 2 s, one every 2 ms.
    for (let n = 0; n < 1_000; n++) {
      await typing.set(userNo(n), ROOM, true);
      await vi.advanceTimersByTimeAsync(2);
    }
    const lastChangeAt = Date.now();
    await vi.advanceTimersByTimeAsync(TYPING_COALESCE_MS);

    const updates = watcher.seen.slice(1);
    for (const update of updates) expect(updates.filter((u) => u.at >= update.at && u.at < update.at + 1_000).length).toBeLessThanOrEqual(4);
    expect(updates.length).toBeLessThanOrEqual(Math.ceil((lastChangeAt - startedAt) / TYPING_COALESCE_MS) + 1);
    const everyone = Array.from({ length: 1_000 }, (_, n) => userNo(n).id).sort();
    expect(watcher.seen.at(-1)!.ids).toEqual(everyone);
    expect(watcher.seen.at(-1)!.at - lastChangeAt).toBeLessThanOrEqual(TYPING_COALESCE_MS);
    // A typist who watches sees the 999 others, never themselves.
    expect(typist.seen.at(-1)!.ids).toEqual(everyone.slice(1));
    expect(typist.seen.every((update) => !update.ids.includes(userNo(0).id))).toBe(true);

    // They all stop at once: one more update, the empty set.
    for (let n = 0; n < 1_000; n++) await typing.set(userNo(n), ROOM, false);
    await vi.advanceTimersByTimeAsync(TYPING_COALESCE_MS);
    expect(watcher.seen.at(-1)!.ids).toEqual([]);
  });

  it('spaces the updates of a room so they list at most TYPING_BUDGET.renderedPerSecond users a second in all (rendered per subscriber), and still sends the final set', async () => {
    const watchers = Array.from({ length: 100 }, () => record());
    for (const [i, watcher] of watchers.entries()) await typing.watch(ROOM, `viewer-${i}`, watcher.listener);
    // 200 start typing at once, then one stops every 10 ms for 1 s.
    for (let n = 0; n < 200; n++) await typing.set(userNo(n), ROOM, true);
    for (let n = 0; n < 100; n++) {
      await vi.advanceTimersByTimeAsync(10);
      await typing.set(userNo(n), ROOM, false);
    }
    const lastChangeAt = Date.now();
    // Not as far as the lapse (5 s after the first true).
    await vi.advanceTimersByTimeAsync(2_500);

    const seen = watchers[0]!.seen.slice(1);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    // The first subscriber is the first of every update: its arrivals are when each update started. An update
    // that listed U users in all (over every subscriber, slice by slice) holds the next for U / renderedPerSecond s.
    for (let i = 1; i < seen.length; i++) {
      const [from, to] = [seen[i - 1]!.at, seen[i]!.at];
      const listed = watchers.flatMap((w) => w.seen.slice(1).filter((u) => u.at >= from && u.at < to)).reduce((sum, u) => sum + u.ids.length, 0);
      expect(to - from).toBeGreaterThanOrEqual(Math.max(TYPING_COALESCE_MS, (listed * 1000) / TYPING_BUDGET.renderedPerSecond));
    }
    expect(seen.at(-1)!.ids).toEqual(Array.from({ length: 100 }, (_, n) => userNo(n + 100).id).sort());
    // The update of all 200 (20,000 listed) held the next for 2 s; the final set came right after that wait.
    expect(seen.at(-1)!.at - lastChangeAt).toBeLessThanOrEqual(2_000);
    for (const watcher of watchers) expect(watcher.seen.at(-1)!.ids).toEqual(seen.at(-1)!.ids);
  });

  it('gives every subscriber of an update the same list, and spaces updates rendered once by the users they list (listedPerSecond)', async () => {
    // As the WebSocket fast path does: the first subscriber of an update renders the shared list, the rest reuse it.
    const lists = new Set<readonly User[]>();
    const seen: { at: number; listed: number }[][] = [];
    const rendered = new WeakSet<readonly User[]>();
    for (let i = 0; i < 100; i++) {
      const mine: { at: number; listed: number }[] = [];
      seen.push(mine);
      await typing.watch(ROOM, userNo(i).id, (view) => {
        lists.add(view.everyone);
        mine.push({ at: Date.now(), listed: usersOf(view).length });
        if (rendered.has(view.everyone)) return 0;
        rendered.add(view.everyone);
        return view.everyone.length;
      });
    }
    // 500 type (the 100 watchers among them), then one stops every 10 ms for 1 s.
    for (let n = 0; n < 500; n++) await typing.set(userNo(n), ROOM, true);
    for (let n = 0; n < 100; n++) {
      await vi.advanceTimersByTimeAsync(10);
      await typing.set(userNo(n + 200), ROOM, false);
    }
    await vi.advanceTimersByTimeAsync(3_000);
    const starts = seen[0]!.slice(1).map((update) => update.at);
    expect(starts.length).toBeGreaterThanOrEqual(3);
    // Subscribers share the update's list (a new one only when the set changed mid-update): one rendering serves many.
    const deliveries = seen.reduce((sum, mine) => sum + mine.length, 0);
    expect(lists.size * 20).toBeLessThan(deliveries);
    for (let i = 1; i < starts.length; i++) {
      const listed = seen.flatMap((mine) => mine.slice(1).filter((u) => u.at >= starts[i - 1]! && u.at < starts[i]!)).reduce((sum, u) => sum + u.listed, 0);
      // ~50,000 listed per update: held by the wire budget, far less than the rendering budget would.
      expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(Math.max(TYPING_COALESCE_MS, (listed * 1000) / TYPING_BUDGET.listedPerSecond));
      expect(starts[i]! - starts[i - 1]!).toBeLessThan((listed * 1000) / TYPING_BUDGET.renderedPerSecond);
    }
    // Everyone ends with the 400 still typing, themselves left out.
    const last = seen.map((mine) => mine.at(-1)!.listed);
    expect(last).toEqual(Array.from({ length: 100 }, () => 399));
  });

  it('hands a large update out a slice at a time, so no turn of the event loop sends much of it', async () => {
    const watchers = Array.from({ length: 100 }, () => record());
    for (const [i, watcher] of watchers.entries()) await typing.watch(ROOM, `viewer-${i}`, watcher.listener);
    // The first typist goes out at once; the other 199 wait out the coalescing window.
    for (let n = 0; n < 200; n++) await typing.set(userNo(n), ROOM, true);
    await vi.advanceTimersByTimeAsync(TYPING_COALESCE_MS - 1);
    const hasAll = () => watchers.filter((w) => w.seen.at(-1)!.ids.length === 200).length;
    expect(hasAll()).toBe(0);
    // Each turn of the update lists 2,000 users, that is 10 subscribers of 200, then yields.
    const perTurn: number[] = [];
    while (hasAll() < 100 && perTurn.length < 20) {
      const before = hasAll();
      vi.advanceTimersToNextTimer();
      perTurn.push(hasAll() - before);
    }
    expect(perTurn).toEqual(Array.from({ length: 10 }, () => 10));
  });

  it('lapses a typist 5 s after their last true, within 100 ms', async () => {
    const watcher = record();
    await typing.watch(ROOM, WATCHER.id, watcher.listener);
    await typing.set(userNo(1), ROOM, true);
    await vi.advanceTimersByTimeAsync(2_000);
    const lastTrueAt = Date.now();
    await typing.set(userNo(1), ROOM, true);
    await vi.advanceTimersByTimeAsync(TYPING_LAPSE_MS - 1);
    expect(watcher.seen.map((u) => u.ids)).toEqual([[], [userNo(1).id]]);
    await vi.advanceTimersByTimeAsync(200);
    expect(watcher.seen.map((u) => u.ids)).toEqual([[], [userNo(1).id], []]);
    expect(watcher.seen.at(-1)!.at - lastTrueAt).toBeGreaterThanOrEqual(TYPING_LAPSE_MS);
    expect(watcher.seen.at(-1)!.at - lastTrueAt).toBeLessThanOrEqual(TYPING_LAPSE_MS + 100);
    // Nobody arriving later sees a lapsed typist.
    const late = record();
    await typing.watch(ROOM, WATCHER.id, late.listener);
    expect(late.seen.map((u) => u.ids)).toEqual([[]]);
  });

  it('after a resync, subscribers get the store’s set, not the list they were last sent', async () => {
    const watcher = record();
    await typing.watch(ROOM, WATCHER.id, watcher.listener);
    await typing.set(userNo(1), ROOM, true);
    await vi.advanceTimersByTimeAsync(TYPING_COALESCE_MS);
    expect(watcher.seen.at(-1)!.ids).toEqual([userNo(1).id]);
    // The link was down, and the store lost the typist meanwhile (a Redis restart, say).
    await store.inner.stop(ROOM, userNo(1));
    pubsub.resync();
    await vi.advanceTimersByTimeAsync(TYPING_COALESCE_MS);
    expect(watcher.seen.at(-1)!.ids).toEqual([]);
  });

  it('a change heard while the current set is read is applied over it, not lost under a stale snapshot', async () => {
    await typing.set(userNo(1), ROOM, true);
    const held = store.reads.hold();
    const watcher = record();
    const watching = typing.watch(ROOM, WATCHER.id, watcher.listener);
    // The read has been made (it saw user 1 typing); user 1 stops and user 2 starts before its answer arrives.
    await held.called;
    await typing.set(userNo(1), ROOM, false);
    await typing.set(userNo(2), ROOM, true);
    held.release();
    await watching;
    expect(watcher.seen.map((u) => u.ids)).toEqual([[userNo(2).id]]);
  });

  it('releases the room channel whatever the order of watching, reading, typing and leaving (1,000 random interleavings)', async () => {
    // flush() waits on setImmediate, which fake timers would hold.
    vi.useRealTimers();
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const waitingReads: (() => void)[] = [];
    // Every read of the set waits until the interleaving lets it through.
    store.read = (roomId) => new Promise((resolve) => waitingReads.push(() => void store.inner.read(roomId).then(resolve)));
    for (let round = 0; round < 1_000; round++) {
      const stops: (() => void)[] = [];
      const watches: Promise<unknown>[] = [];
      for (let step = 0; step < 8; step++) {
        const action = random(4);
        if (action === 0) watches.push(typing.watch(ROOM, `viewer-${random(3)}`, () => 0).then((stop) => stops.push(stop)));
        else if (action === 1 && waitingReads.length > 0) waitingReads.splice(random(waitingReads.length), 1)[0]!();
        else if (action === 2 && stops.length > 0) stops.splice(random(stops.length), 1)[0]!();
        else void typing.set(userNo(random(3)), ROOM, random(2) === 0);
        if (random(2) === 0) await flush();
      }
      while (waitingReads.length > 0) {
        waitingReads.shift()!();
        await flush();
      }
      await Promise.all(watches);
      for (const stop of stops.splice(0)) stop();
      await flush();
      expect(pubsub.active('room.typing', ROOM), `round ${round}`).toBe(0);
    }
  });
});
