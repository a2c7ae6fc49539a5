import { badInput } from './errors.js';

/** Relay-style page, as every connection field returns it. */
export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: PageInfo;
}

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

/**
 * Cursors are opaque to clients (base64url of "<kind>:<key>") but checked on the
 * way back in: a cursor of the wrong kind or shape is BAD_USER_INPUT, never a 500.
 */
export function encodeCursor(kind: string, key: string | number): string {
  return Buffer.from(`${kind}:${key}`).toString('base64url');
}

export function decodeCursor(kind: string, cursor: string, keyPattern: RegExp): string {
  const text = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString() : '';
  const prefix = `${kind}:`;
  const key = text.startsWith(prefix) ? text.slice(prefix.length) : '';
  if (!keyPattern.test(key)) throw badInput(`invalid cursor "${cursor.slice(0, 64)}"`);
  return key;
}

/** Checks a page size argument, filling in the default. */
export function pageSize(name: string, value: number | null | undefined, fallback: number, max: number): number {
  if (value == null) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) throw badInput(`${name} must be from 1 to ${max}, got ${value}`);
  return value;
}

/**
 * Assembles a page from rows read in paging order with one row more than `size`
 * (the extra row only tells that more exist). Forward pages (`first`/`after`)
 * keep that order; backward pages (`last`/`before`, read newest first) are
 * turned round so edges are oldest first. `fromCursor`: the page continues from
 * a cursor, so there are rows on the side it came from.
 */
export function pageOf<T>(
  rows: T[],
  size: number,
  cursorOf: (node: T) => string,
  direction: 'forward' | 'backward',
  fromCursor: boolean,
): Connection<T> {
  const more = rows.length > size;
  const nodes = rows.slice(0, size);
  if (direction === 'backward') nodes.reverse();
  const edges = nodes.map((node) => ({ cursor: cursorOf(node), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: direction === 'forward' ? more : fromCursor,
      hasPreviousPage: direction === 'forward' ? fromCursor : more,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}
