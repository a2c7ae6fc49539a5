/**
 * What a stream runs when it ends, in the order added. A stream lives as long
 * as its subscription and holds two or three (the fast path's: its shape, its
 * feed and presence, the metrics' count), and an array grown by push() takes
 * room for 17 at once: some 150 bytes per stream, and an idle server holds a
 * stream per subscriber. So each add makes an array of exactly the new length.
 */
export type Cleanups = readonly (() => void)[] | null;

/** `cleanups` and then `cleanup`, in a new array just long enough (concat allocates no spare room). */
export function withCleanup(cleanups: Cleanups, cleanup: () => void): Cleanups {
  return cleanups === null ? [cleanup] : cleanups.concat([cleanup]);
}

/** Runs each, in order. */
export function runCleanups(cleanups: Cleanups): void {
  if (cleanups !== null) for (const cleanup of cleanups) cleanup();
}
