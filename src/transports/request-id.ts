import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** What a proxy in front may send as X-Request-Id and be echoed; anything else gets an id of ours. */
const ACCEPTED_ID = /^[\w.:-]{1,128}$/;

/** The request's X-Request-Id when it looks like one, else a new random id: echoed to the client, logged, never trusted further. */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && ACCEPTED_ID.test(given) ? given : newRequestId();
}

/**
 * 96 random bits as 16 base64url characters. Not randomUUID(): its string is
 * built of 13 joined pieces that V8 keeps as such, ~450 bytes for as long as a
 * socket holds its id; this one is one flat string of 16 bytes.
 */
function newRequestId(): string {
  return randomBytes(12).toString('base64url');
}
