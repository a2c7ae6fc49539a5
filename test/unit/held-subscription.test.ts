import { describe, expect, it, vi } from 'vitest';
import { HeldSubscription } from '../../src/infrastructure/streams/held-subscription.js';
import { flush } from '../helpers/fakes.js';

describe('HeldSubscription', () => {
  it('yields nothing: next() waits until the subscription is returned, then says done', async () => {
    const held = new HeldSubscription();
    let settled = false;
    const next = held.next().then((result) => {
      settled = true;
      return result;
    });
    await flush();
    expect(settled).toBe(false);
    expect(held.done).toBe(false);
    expect(await held.return()).toEqual({ value: undefined, done: true });
    expect(await next).toEqual({ value: undefined, done: true });
    expect(held.done).toBe(true);
    expect(await held.next()).toEqual({ value: undefined, done: true });
  });

  it('runs each cleanup once, in order, however often it is ended', async () => {
    const held = new HeldSubscription();
    const order: string[] = [];
    held.onEnd(() => order.push('presence'));
    held.onEnd(() => order.push('feed'));
    await held.return();
    await held.return();
    await expect(held.throw(new Error('late'))).rejects.toThrow('late');
    expect(order).toEqual(['presence', 'feed']);
  });

  it('runs a cleanup registered after the end at once', async () => {
    const held = new HeldSubscription();
    await held.return();
    const cleanup = vi.fn();
    held.onEnd(cleanup);
    expect(cleanup).toHaveBeenCalledTimes(1);
  });

  it('throw() ends it with that error: the cleanups run and a waiting next() says done', async () => {
    const held = new HeldSubscription();
    const cleanup = vi.fn();
    held.onEnd(cleanup);
    const next = held.next();
    const error = new Error('socket closed');
    await expect(held.throw(error)).rejects.toBe(error);
    expect(cleanup).toHaveBeenCalledTimes(1);
    expect(await next).toEqual({ value: undefined, done: true });
  });

  it('ends a for-await loop over it when returned from outside', async () => {
    const held = new HeldSubscription();
    const loop = (async () => {
      let values = 0;
      for await (const _ of held) values++;
      return values;
    })();
    await flush();
    await held.return();
    expect(await loop).toBe(0);
  });

  it('releases a subclass\'s own holdings first, then the cleanups, once', async () => {
    const order: string[] = [];
    class Member extends HeldSubscription {
      protected override released(): void {
        order.push('released');
      }
    }
    const held = new Member();
    held.onEnd(() => order.push('cleanup'));
    await held.return();
    await held.return();
    expect(order).toEqual(['released', 'cleanup']);
  });
});
