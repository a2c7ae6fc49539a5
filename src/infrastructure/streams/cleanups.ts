/**
 * What a stream runs when it ends, in the order added. A stream lives as long
 * as its subscription, and an idle server holds one per subscriber, most with
 * a single cleanup (the metrics' count; the fast paths release the rest from
 * fields of their own): so one cleanup is kept as itself, and more in an array
 * of exactly their number (push() would take room for 17 at once, some 150
 * bytes per stream).
 */
export type Cleanups = (() => void) | readonly (() => void)[] | null;

/** `cleanups` and then `cleanup`: the function alone, or a new array just long enough (concat allocates no spare room). */
export function withCleanup(cleanups: Cleanups, cleanup: () => void): Cleanups {
  if (cleanups === null) return cleanup;
  return typeof cleanups === 'function' ? [cleanups, cleanup] : cleanups.concat([cleanup]);
}

/** Runs each, in order. */
export function runCleanups(cleanups: Cleanups): void {
  if (cleanups === null) return;
  if (typeof cleanups === 'function') return cleanups();
  for (const cleanup of cleanups) cleanup();
}
