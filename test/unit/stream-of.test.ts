import { beforeEach, describe, expect, it, vi } from 'vitest';
import { OpenStreams } from '../../src/infrastructure/streams/open-streams.js';
import type { Context } from '../../src/schema/context.js';
import { streamOf } from '../../src/schema/streams.js';
import { deferred } from '../helpers/wait.js';

describe('streamOf', () => {
  let openStreams: OpenStreams;
  let ctx: Context;

  beforeEach(() => {
    openStreams = new OpenStreams();
    ctx = { services: { openStreams } } as unknown as Context;
  });

  it('streams what start pushes, before and after it returned, and is tracked until it ends', async () => {
    let push!: (event: string) => void;
    const stream = await streamOf<string>(ctx, (p) => {
      push = p;
      push('during start');
      return () => {};
    });
    push('later');
    expect(openStreams.size).toBe(1);
    expect(await stream.next()).toEqual({ value: 'during start', done: false });
    expect(await stream.next()).toEqual({ value: 'later', done: false });
    await stream.return();
    expect(openStreams.size).toBe(0);
  });

  it('releases what start took once, when the stream ends after start', async () => {
    const release = vi.fn();
    const stream = await streamOf<string>(ctx, async () => release);
    expect(release).not.toHaveBeenCalled();
    await stream.return();
    await stream.return();
    expect(release).toHaveBeenCalledTimes(1);
  });

  it('releases at once, and once, when the server ends the stream while an async start is running', async () => {
    const started = deferred<() => void>();
    const release = vi.fn();
    const streaming = streamOf<string>(ctx, () => started.promise);
    expect(openStreams.size).toBe(1);
    openStreams.endAll();
    expect(release).not.toHaveBeenCalled();
    started.resolve(release);
    const stream = await streaming;
    expect(release).toHaveBeenCalledTimes(1);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    await stream.return();
    expect(release).toHaveBeenCalledTimes(1);
    expect(openStreams.size).toBe(0);
  });

  it('releases once when the stream ends before start has even returned', async () => {
    const release = vi.fn();
    const stream = await streamOf<string>(ctx, () => {
      openStreams.endAll();
      return release;
    });
    expect(release).toHaveBeenCalledTimes(1);
    await stream.return();
    expect(release).toHaveBeenCalledTimes(1);
  });

  it('releases once when the consumer falls behind and the stream ends with an error', async () => {
    const release = vi.fn();
    let push!: (event: number) => void;
    const stream = await streamOf<number>(
      ctx,
      (p) => {
        push = p;
        return release;
      },
      2,
    );
    push(1);
    push(2);
    push(3);
    expect(await stream.next()).toEqual({ value: 1, done: false });
    expect(await stream.next()).toEqual({ value: 2, done: false });
    await expect(stream.next()).rejects.toThrow(/too slow/);
    await stream.return();
    expect(release).toHaveBeenCalledTimes(1);
    expect(openStreams.size).toBe(0);
  });

  it('fails with the error of a start that throws, and ends the stream it made', async () => {
    const error = new Error('room not found');
    await expect(
      streamOf<string>(ctx, () => {
        throw error;
      }),
    ).rejects.toBe(error);
    expect(openStreams.size).toBe(0);
  });

  it('fails with the rejection of an async start, and ends the stream it made', async () => {
    const error = new Error('FORBIDDEN');
    const failing = deferred<() => void>();
    const streaming = streamOf<string>(ctx, () => failing.promise);
    expect(openStreams.size).toBe(1);
    failing.reject(error);
    await expect(streaming).rejects.toBe(error);
    expect(openStreams.size).toBe(0);
  });
});
