import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PresenceCluster } from '../../src/presence/presence.cluster.js';
import type { PresenceShare } from '../../src/presence/presence.js';
import { COALESCE_MS, PresenceService } from '../../src/presence/presence.service.js';
import { silentLogger } from '../helpers/fakes.js';

const ROOM = 'room-1';
const TTL_MS = 3_000;
/** The service renews its shares (and expires the others') every third of the TTL. */
const HEARTBEAT_MS = TTL_MS / 3;

/** The other instances, as the service sees them: shares to read, announcements to hear, and what it announced. */
class FakeCluster implements PresenceCluster {
  readonly announced: { roomId: string; userIds: string[]; expiresAt: number; at: number }[] = [];
  readonly shares = new Map<string, PresenceShare[]>();
  readonly watchers = new Map<string, Set<(share: PresenceShare) => void>>();
  readFails = false;

  async announce(roomId: string, userIds: string[], expiresAt: number): Promise<void> {
    this.announced.push({ roomId, userIds: [...userIds].sort(), expiresAt, at: Date.now() });
  }

  async read(roomId: string): Promise<PresenceShare[]> {
    if (this.readFails) throw new Error('redis away');
    return this.shares.get(roomId) ?? [];
  }

  async watch(roomId: string, listener: (share: PresenceShare) => void): Promise<() => Promise<void>> {
    const listeners = this.watchers.get(roomId) ?? new Set();
    this.watchers.set(roomId, listeners);
    listeners.add(listener);
    return async () => void listeners.delete(listener);
  }

  /** Another instance announces its share of the room. */
  hear(share: PresenceShare): void {
    for (const listener of this.watchers.get(share.roomId) ?? []) listener(share);
  }

  announcedIn(roomId: string) {
    return this.announced.filter((a) => a.roomId === roomId);
  }
}

const share = (instanceId: string, userIds: string[], expiresInMs: number): PresenceShare => ({ instanceId, roomId: ROOM, userIds, expiresAt: Date.now() + expiresInMs });

describe('PresenceService', () => {
  let cluster: FakeCluster;
  let presence: PresenceService;
  /** Every count a watcher was sent, with when. */
  let counts: { count: number; at: number }[];
  const watcher = (count: number) => void counts.push({ count, at: Date.now() });
  const values = () => counts.map((c) => c.count);

  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-11-30T12:00:00Z') });
    cluster = new FakeCluster();
    presence = new PresenceService(cluster, TTL_MS, silentLogger);
    counts = [];
  });
  afterEach(async () => {
    await presence.close();
    vi.useRealTimers();
  });

  describe('counting this instance’s users', () => {
    it('counts a user with two subscriptions once, until both are gone', async () => {
      const leaveFirst = presence.join(ROOM, 'alice');
      const leaveSecond = presence.join(ROOM, 'alice');
      presence.join(ROOM, 'bob');
      expect(await presence.count(ROOM)).toBe(2);
      leaveFirst();
      expect(await presence.count(ROOM)).toBe(2);
      leaveSecond();
      expect(await presence.count(ROOM)).toBe(1);
    });

    it('counts a leave once however often it is called', async () => {
      const leave = presence.join(ROOM, 'alice');
      presence.join(ROOM, 'alice');
      leave();
      leave();
      leave();
      expect(await presence.count(ROOM)).toBe(1);
    });

    it('counts enter() and leave() as join() does, and ignores a leave with no enter', async () => {
      presence.enter(ROOM, 'alice');
      presence.enter(ROOM, 'alice');
      presence.leave(ROOM, 'bob');
      presence.leave(ROOM, 'alice');
      expect(await presence.participantIds(ROOM, 10)).toEqual(['alice']);
      presence.leave(ROOM, 'alice');
      presence.leave(ROOM, 'alice');
      expect(await presence.count(ROOM)).toBe(0);
      presence.enter(ROOM, 'alice');
      expect(await presence.count(ROOM)).toBe(1);
    });

    it('keeps rooms apart', async () => {
      presence.join(ROOM, 'alice');
      presence.join('room-2', 'bob');
      presence.join('room-2', 'carol');
      expect([await presence.count(ROOM), await presence.count('room-2'), await presence.count('room-3')]).toEqual([1, 2, 0]);
    });
  });

  describe('watching a room', () => {
    it('sends the count now, then each change', async () => {
      presence.join(ROOM, 'alice');
      await presence.watch(ROOM, watcher);
      expect(values()).toEqual([1]);
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      const leave = presence.join(ROOM, 'bob');
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      leave();
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      expect(values()).toEqual([1, 2, 1]);
    });

    it('sends at most one count per COALESCE_MS under churn, and always the final one', async () => {
      await presence.watch(ROOM, watcher);
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      const leaves: (() => void)[] = [];
      // 250 ms of churn, a change every 5 ms (two joins, one leave): it ends with 18 users in the room.
      for (let step = 0; step < 50; step++) {
        if (step % 3 === 2) leaves.shift()!();
        else leaves.push(presence.join(ROOM, `user-${step}`));
        await vi.advanceTimersByTimeAsync(5);
      }
      expect(leaves).toHaveLength(18);
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      const sent = counts.slice(1);
      expect(sent.length).toBeGreaterThanOrEqual(2);
      expect(sent.length).toBeLessThanOrEqual(Math.ceil(250 / COALESCE_MS) + 1);
      for (let i = 1; i < sent.length; i++) expect(sent[i]!.at - sent[i - 1]!.at).toBeGreaterThanOrEqual(COALESCE_MS);
      expect(sent.at(-1)!.count).toBe(18);
      expect(await presence.count(ROOM)).toBe(18);
    });

    it('delivers the final value of a burst within COALESCE_MS of its last change', async () => {
      await presence.watch(ROOM, watcher);
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      presence.join(ROOM, 'alice'); // sent at once: nothing was sent for a while
      const lastChange = Date.now();
      presence.join(ROOM, 'bob');
      presence.join(ROOM, 'carol');
      expect(values()).toEqual([0, 1]);
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      expect(values()).toEqual([0, 1, 3]);
      expect(counts.at(-1)!.at - lastChange).toBeLessThanOrEqual(COALESCE_MS);
    });

    it('never sends a watcher the same count twice in a row', async () => {
      await presence.watch(ROOM, watcher);
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      const leave = presence.join(ROOM, 'alice');
      // Within the window Alice leaves and comes back: the count the window ends with is the one already sent.
      leave();
      presence.join(ROOM, 'alice');
      await vi.advanceTimersByTimeAsync(COALESCE_MS * 3);
      // A user joining a second time changes nothing either.
      presence.join(ROOM, 'alice');
      await vi.advanceTimersByTimeAsync(COALESCE_MS * 3);
      expect(values()).toEqual([0, 1]);
    });

    it('sends a second watcher the count now, and each watcher each change once', async () => {
      const other: number[] = [];
      await presence.watch(ROOM, watcher);
      presence.join(ROOM, 'alice');
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      await presence.watch(ROOM, (count) => other.push(count));
      presence.join(ROOM, 'bob');
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      expect(values()).toEqual([0, 1, 2]);
      expect(other).toEqual([1, 2]);
    });

    it('stops sending after unwatch, and lets go of the cluster watch with the last watcher', async () => {
      const unwatchOne = await presence.watch(ROOM, watcher);
      const other: number[] = [];
      const unwatchOther = await presence.watch(ROOM, (count) => other.push(count));
      expect(cluster.watchers.get(ROOM)?.size).toBe(1);
      unwatchOne();
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      presence.join(ROOM, 'alice');
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      expect(values()).toEqual([0]);
      expect(other).toEqual([0, 1]);
      unwatchOther();
      await vi.advanceTimersByTimeAsync(0);
      expect(cluster.watchers.get(ROOM)?.size).toBe(0);
    });
  });

  describe('other instances', () => {
    it('counts the union of this instance’s users and the other instances’ shares', async () => {
      presence.join(ROOM, 'alice');
      cluster.shares.set(ROOM, [share('b', ['alice', 'bob'], 10_000), share('c', ['bob', 'carol'], 10_000)]);
      expect(await presence.count(ROOM)).toBe(3);
      await presence.watch(ROOM, watcher);
      expect(values()).toEqual([3]);
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      cluster.hear(share('c', ['carol', 'dave'], 10_000));
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      cluster.hear(share('b', [], 10_000)); // b withdraws its share
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      expect(values()).toEqual([3, 4, 3]);
      expect(await presence.count(ROOM)).toBe(3);
    });

    it('stops counting a share at its expiresAt unless it is renewed; a watcher hears so within a heartbeat', async () => {
      // b's share runs out between two heartbeats.
      cluster.shares.set(ROOM, [share('b', ['bob'], 1_500), share('c', ['carol'], 10_000)]);
      await presence.watch(ROOM, watcher);
      expect(values()).toEqual([2]);
      await vi.advanceTimersByTimeAsync(1_500 - 1);
      expect(await presence.count(ROOM)).toBe(2);
      await vi.advanceTimersByTimeAsync(1);
      expect(await presence.count(ROOM)).toBe(1);
      await vi.advanceTimersByTimeAsync(HEARTBEAT_MS);
      expect(values()).toEqual([2, 1]);
      // c renews its share before it runs out: it goes on counting.
      cluster.hear(share('c', ['carol'], 10_000));
      await vi.advanceTimersByTimeAsync(9_000);
      expect(await presence.count(ROOM)).toBe(1);
      expect(values()).toEqual([2, 1]);
    });

    it('ignores a share that arrives already expired', async () => {
      await presence.watch(ROOM, watcher);
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      cluster.hear(share('b', ['bob'], 0));
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      expect(await presence.count(ROOM)).toBe(0);
      expect(values()).toEqual([0]);
    });

    it('counts this instance’s users alone while the cluster cannot be read', async () => {
      presence.join(ROOM, 'alice');
      cluster.readFails = true;
      expect(await presence.count(ROOM)).toBe(1);
      await presence.watch(ROOM, watcher);
      expect(values()).toEqual([1]);
      // The other instances' heartbeats fill in their shares once the cluster is back.
      cluster.hear(share('b', ['bob'], 10_000));
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      expect(values()).toEqual([1, 2]);
    });
  });

  describe('announcing this instance’s share', () => {
    it('announces a burst of joins as one share, and renews it every heartbeat with a fresh expiry', async () => {
      presence.join(ROOM, 'alice');
      presence.join(ROOM, 'bob');
      presence.join(ROOM, 'alice');
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      expect(cluster.announcedIn(ROOM)).toEqual([{ roomId: ROOM, userIds: ['alice', 'bob'], expiresAt: Date.now() - COALESCE_MS / 2 + TTL_MS, at: Date.now() - COALESCE_MS / 2 }]);
      await vi.advanceTimersByTimeAsync(HEARTBEAT_MS * 3);
      const renewals = cluster.announcedIn(ROOM).slice(1);
      expect(renewals.length).toBeGreaterThanOrEqual(3);
      for (const renewal of renewals) {
        expect(renewal.userIds).toEqual(['alice', 'bob']);
        expect(renewal.expiresAt).toBe(renewal.at + TTL_MS);
      }
    });

    it('announces the room empty once its last user leaves', async () => {
      const leave = presence.join(ROOM, 'alice');
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      leave();
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      expect(cluster.announcedIn(ROOM).map((a) => a.userIds)).toEqual([['alice'], []]);
    });
  });

  describe('close()', () => {
    it('withdraws this instance’s share of every room it has users in, and stops renewing', async () => {
      presence.join(ROOM, 'alice');
      presence.join('room-2', 'bob');
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      const before = cluster.announced.length;
      await presence.close();
      expect(cluster.announced.slice(before).map(({ roomId, userIds }) => ({ roomId, userIds }))).toEqual([
        { roomId: ROOM, userIds: [] },
        { roomId: 'room-2', userIds: [] },
      ]);
      const afterClose = cluster.announced.length;
      await vi.advanceTimersByTimeAsync(TTL_MS * 2);
      expect(cluster.announced.length).toBe(afterClose);
    });

    it('withdraws a share announced just before, whose announcement was not due yet', async () => {
      presence.join(ROOM, 'alice');
      await presence.close();
      expect(cluster.announcedIn(ROOM).map((a) => a.userIds)).toEqual([[]]);
    });

    // A stopping server closes its sockets first (every user leaves), then presence: when that takes
    // under COALESCE_MS / 2, the empty announcement is cancelled and nothing is withdrawn, so the other
    // instances go on counting this one's last users until their share expires (PRESENCE_TTL_SECONDS).
    it('withdraws the share of a room whose users left just before close', async () => {
      const leave = presence.join(ROOM, 'alice');
      await vi.advanceTimersByTimeAsync(COALESCE_MS);
      expect(cluster.announcedIn(ROOM).at(-1)!.userIds).toEqual(['alice']);
      leave();
      await presence.close();
      await vi.advanceTimersByTimeAsync(TTL_MS);
      expect(cluster.announcedIn(ROOM).at(-1)!.userIds).toEqual([]);
    });
  });
});
