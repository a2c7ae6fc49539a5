import { describe, expect, it, vi } from 'vitest';
import { PushQueue } from '../../src/infrastructure/streams/push-queue.js';

const OVERFLOW = /too slow/;

/** Reads the queue until it ends: the values, and the error it ended with (null when it completed). */
async function drain<T>(queue: PushQueue<T>): Promise<{ values: T[]; error: unknown }> {
  const values: T[] = [];
  try {
    for (;;) {
      const result = await queue.next();
      if (result.done) return { values, error: null };
      values.push(result.value);
    }
  } catch (error) {
    return { values, error };
  }
}

describe('PushQueue', () => {
  it('hands out pushed values in the order they were pushed', async () => {
    const queue = new PushQueue<number>();
    queue.push(1);
    queue.push(2);
    queue.push(3);
    expect(await queue.next()).toEqual({ value: 1, done: false });
    expect(await queue.next()).toEqual({ value: 2, done: false });
    expect(await queue.next()).toEqual({ value: 3, done: false });
  });

  it('wakes a consumer that is waiting with the next push, then goes on from the buffer', async () => {
    const queue = new PushQueue<string>();
    const waiting = queue.next();
    queue.push('a');
    queue.push('b');
    expect(await waiting).toEqual({ value: 'a', done: false });
    expect(await queue.next()).toEqual({ value: 'b', done: false });
    const again = queue.next();
    queue.push('c');
    expect(await again).toEqual({ value: 'c', done: false });
  });

  it('works as the async iterable a subscription resolver returns; breaking out ends it', async () => {
    const queue = new PushQueue<number>();
    const cleanup = vi.fn();
    queue.onEnd(cleanup);
    queue.push(1);
    queue.push(2);
    const seen: number[] = [];
    for await (const value of queue) {
      seen.push(value);
      if (value === 2) break;
    }
    expect(seen).toEqual([1, 2]);
    expect(cleanup).toHaveBeenCalledTimes(1);
  });

  describe('return()', () => {
    it('ends the stream: a waiting consumer and every later read get done, later pushes are dropped', async () => {
      const queue = new PushQueue<number>();
      const waiting = queue.next();
      expect(await queue.return()).toEqual({ value: undefined, done: true });
      expect(await waiting).toEqual({ value: undefined, done: true });
      queue.push(1);
      expect(await queue.next()).toEqual({ value: undefined, done: true });
    });

    it('drops what was buffered and not read', async () => {
      const queue = new PushQueue<number>();
      queue.push(1);
      queue.push(2);
      await queue.return();
      expect(await queue.next()).toEqual({ value: undefined, done: true });
    });

    it('runs each cleanup once, however many times the stream is ended and by whom', async () => {
      const queue = new PushQueue<number>();
      const first = vi.fn();
      const second = vi.fn();
      queue.onEnd(first);
      queue.onEnd(second);
      await queue.return();
      await queue.return();
      await expect(queue.throw(new Error('late'))).rejects.toThrow('late');
      queue.fail(new Error('later'));
      expect(first).toHaveBeenCalledTimes(1);
      expect(second).toHaveBeenCalledTimes(1);
    });
  });

  it('runs a cleanup registered after the end at once', async () => {
    const queue = new PushQueue<number>();
    await queue.return();
    const cleanup = vi.fn();
    queue.onEnd(cleanup);
    expect(cleanup).toHaveBeenCalledTimes(1);
  });

  it('throw() ends the stream with that error and runs the cleanups', async () => {
    const queue = new PushQueue<number>();
    const cleanup = vi.fn();
    queue.onEnd(cleanup);
    queue.push(1);
    const error = new Error('consumer failed');
    await expect(queue.throw(error)).rejects.toBe(error);
    expect(cleanup).toHaveBeenCalledTimes(1);
    expect(await queue.next()).toEqual({ value: undefined, done: true });
  });

  describe('fail()', () => {
    it('rejects a waiting consumer at once and ends the stream', async () => {
      const queue = new PushQueue<number>();
      const cleanup = vi.fn();
      queue.onEnd(cleanup);
      const waiting = queue.next();
      const error = new Error('room deleted');
      queue.fail(error);
      await expect(waiting).rejects.toBe(error);
      expect(cleanup).toHaveBeenCalledTimes(1);
      expect(await queue.next()).toEqual({ value: undefined, done: true });
    });

    it('hands out the buffered values first, then the error, then done', async () => {
      const queue = new PushQueue<number>();
      const cleanup = vi.fn();
      queue.onEnd(cleanup);
      queue.push(1);
      queue.push(2);
      const error = new Error('room deleted');
      queue.fail(error);
      expect(cleanup).not.toHaveBeenCalled();
      expect(await drain(queue)).toEqual({ values: [1, 2], error });
      expect(cleanup).toHaveBeenCalledTimes(1);
      expect(await queue.next()).toEqual({ value: undefined, done: true });
    });

    it('delivers nothing pushed after it', async () => {
      const queue = new PushQueue<number>();
      queue.push(1);
      const error = new Error('room deleted');
      queue.fail(error);
      queue.push(2);
      expect(await drain(queue)).toEqual({ values: [1], error });
    });
  });

  describe('overflow', () => {
    it('ends a consumer that falls `limit` values behind with an error after the values it had', async () => {
      const queue = new PushQueue<number>(3);
      const cleanup = vi.fn();
      queue.onEnd(cleanup);
      for (let n = 1; n <= 5; n++) queue.push(n);
      const { values, error } = await drain(queue);
      expect(values).toEqual([1, 2, 3]);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(OVERFLOW);
      expect(cleanup).toHaveBeenCalledTimes(1);
    });

    it('lets a consumer that keeps up go on past `limit` values in all', async () => {
      const queue = new PushQueue<number>(2);
      const seen: number[] = [];
      for (let n = 1; n <= 10; n++) {
        queue.push(n);
        seen.push((await queue.next()).value as number);
      }
      expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });

    // A dropped value followed by a delivered one is a silent gap: a messageAdded client resuming
    // with `after` = the last message it got would never see the dropped one.
    it('never delivers a value pushed after one it dropped', async () => {
      const queue = new PushQueue<number>(2);
      queue.push(1);
      queue.push(2);
      queue.push(3); // overflows: dropped, the stream is to end after 1 and 2
      expect(await queue.next()).toEqual({ value: 1, done: false });
      queue.push(4);
      const { values, error } = await drain(queue);
      expect(values).toEqual([2]);
      expect((error as Error).message).toMatch(OVERFLOW);
    });
  });
});
