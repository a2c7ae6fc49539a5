import { describe, expect, it, vi } from 'vitest';
import { FreshCache } from '../src/moderation/fresh-cache.js';
import { deferred } from './helpers/wait.js';

/**
 * The cache behind bans and slow mode on every write path: what it may keep,
 * and for how long, decides how soon a change made on another instance bites.
 */
describe('the moderation cache', () => {
  /** A store whose loads the test answers by hand, recording each load's keys. */
  function heldStore() {
    const loads: { keys: string[]; answer: ReturnType<typeof deferred<Map<string, number>>> }[] = [];
    const load = (keys: string[]) => {
      const answer = deferred<Map<string, number>>();
      loads.push({ keys, answer });
      return answer.promise;
    };
    return { loads, load };
  }

  it('reads the keys asked for in one tick with one load, and answers from memory while fresh', async () => {
    const store = heldStore();
    const cache = new FreshCache(store.load, 0, 60_000, 100);
    const asked = Promise.all([cache.get('a'), cache.get('b'), cache.get('a')]);
    await Promise.resolve();
    expect(store.loads.map((l) => l.keys)).toEqual([['a', 'b']]);
    store.loads[0]!.answer.resolve(new Map([['a', 5]]));
    // 'b' has no stored value: it is the absent value.
    expect(await asked).toEqual([5, 0, 5]);
    expect(await cache.get('a')).toBe(5);
    expect(store.loads).toHaveLength(1);
  });

  it('splits a large batch into loads of at most 500 keys', async () => {
    const keys: string[][] = [];
    const cache = new FreshCache(async (batch) => (keys.push(batch), new Map()), 0, 60_000, 10_000);
    await Promise.all(Array.from({ length: 1_201 }, (_, n) => cache.get(`k${n}`)));
    expect(keys.map((batch) => batch.length)).toEqual([500, 500, 201]);
  });

  it('reads again once an entry is older than its freshness', async () => {
    let reads = 0;
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const cache = new FreshCache(async () => new Map([['a', ++reads]]), 0, 1_000, 100);
      expect(await cache.get('a')).toBe(1);
      vi.setSystemTime(Date.now() + 999);
      expect(await cache.get('a')).toBe(1);
      vi.setSystemTime(Date.now() + 1);
      expect(await cache.get('a')).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('never keeps what a read saw before an invalidation that came while it was under way', async () => {
    const store = heldStore();
    const cache = new FreshCache(store.load, 0, 60_000, 100);
    const stale = cache.get('a');
    await Promise.resolve();
    // Another instance announces a change while the read is under way: its answer may predate it.
    cache.invalidate('a');
    store.loads[0]!.answer.resolve(new Map([['a', 1]]));
    expect(await stale).toBe(1);
    const fresh = cache.get('a');
    await Promise.resolve();
    expect(store.loads).toHaveLength(2);
    store.loads[1]!.answer.resolve(new Map([['a', 2]]));
    expect(await fresh).toBe(2);
  });

  it('keeps what this instance wrote, over a read that was under way, and forgets everything on clear()', async () => {
    const store = heldStore();
    const cache = new FreshCache(store.load, 0, 60_000, 100);
    const reading = cache.get('a');
    await Promise.resolve();
    cache.set('a', 9);
    store.loads[0]!.answer.resolve(new Map([['a', 1]]));
    await reading;
    expect(await cache.get('a')).toBe(9);
    cache.clear();
    const again = cache.get('a');
    await Promise.resolve();
    store.loads[1]!.answer.resolve(new Map([['a', 3]]));
    expect(await again).toBe(3);
  });

  it('holds at most maxEntries, dropping the oldest', async () => {
    const loaded: string[] = [];
    const cache = new FreshCache(async (keys) => (loaded.push(...keys), new Map(keys.map((k) => [k, 1]))), 0, 60_000, 2);
    for (const key of ['a', 'b', 'c']) await cache.get(key);
    loaded.length = 0;
    await cache.get('c');
    await cache.get('b');
    expect(loaded).toEqual([]);
    await cache.get('a');
    expect(loaded).toEqual(['a']);
  });

  it('fails every waiter of a load that fails, and keeps nothing of it', async () => {
    let fail = true;
    const cache = new FreshCache(async () => {
      if (fail) throw new Error('database away');
      return new Map([['a', 4]]);
    }, 0, 60_000, 100);
    await expect(Promise.all([cache.get('a'), cache.get('a')])).rejects.toThrow('database away');
    fail = false;
    expect(await cache.get('a')).toBe(4);
  });
});
