import { badInput } from '../errors.js';
import type { User } from '../identity/user.js';
import type { Room } from '../rooms/room.js';

/** One random 1:1 pairing, as the contract's MatchFound: a fresh DIRECT room and who is on the other side. */
export interface MatchFound {
  room: Room;
  partner: User;
}

/**
 * A waiting subscription as every instance sees it in a queue: which user waits,
 * and on which instance (where its partner's signals go).
 */
export interface QueuedWaiter {
  /** One per subscription, so the same user waiting twice is two waiters. */
  id: string;
  user: User;
  instanceId: string;
}

/**
 * Where a waiter goes in its queue: a newcomer at the tail; a waiter whose match
 * fell through at the head, the place it had (it was the oldest when it was taken
 * off), so a failed handshake never costs anyone their turn. `rejoin` is `head`,
 * except that a waiter still queued keeps its place: a repeated or stray request
 * to wait again can never queue a waiter twice.
 */
export type QueuePlace = 'tail' | 'head' | 'rejoin';

export const TOPIC_MAX = 32;
/**
 * Letters (of any script, with their marks) and digits, and inside a topic also
 * spaces, `_`, `.` and `-`: nothing that could look like another topic, or like
 * a separator in a queue's key.
 */
const TOPIC = /^[\p{L}\p{N}](?:[\p{L}\p{M}\p{N} _.-]*[\p{L}\p{M}\p{N}])?$/u;

/**
 * The queue a matchFound(topic) subscription waits in: `general` for no topic,
 * otherwise the topic trimmed, its spaces collapsed and lower-cased, so that
 * "Music", "music " and "MUSIC" meet. Not 1 to TOPIC_MAX such characters:
 * BAD_USER_INPUT.
 */
export function queueOf(topic: string | null | undefined): string {
  if (topic == null) return 'general';
  const normalized = topic.trim().replace(/ {2,}/g, ' ').normalize('NFC').toLowerCase();
  const length = [...normalized].length;
  if (length < 1 || length > TOPIC_MAX) throw badInput(`topic must be 1 to ${TOPIC_MAX} characters after trimming`);
  if (!TOPIC.test(normalized)) throw badInput('topic may hold letters, digits, and inside it spaces, "_", "." and "-"');
  return `topic:${normalized}`;
}

/**
 * What instances tell each other to pair two waiters, always sent to the
 * instance a waiter waits on (the topic's key). Taking a partner off the queue
 * is atomic, but the partner may have left a moment before: so the taker first
 * offers, and only a partner still waiting accepts; only then is the room made.
 * - offer: the sender's waiter `from` took waiter `to` off the queue.
 * - answer: `to` still waits and is now held for this offer (accepted), or is gone.
 * - withdraw: the accepted partner left before its room arrived.
 * - matched: the room is made; `to` gets it and its subscription completes.
 * - release: the match is off (its other side left, or its room could not be
 *   made): `to` waits again at the head of its queue, where it was.
 */
export type MatchSignal =
  | { kind: 'offer'; offerId: string; to: string; from: QueuedWaiter }
  | { kind: 'answer'; offerId: string; accepted: boolean; from: { id: string; instanceId: string } }
  | { kind: 'withdraw'; offerId: string }
  | { kind: 'matched'; offerId: string; to: string; roomId: string }
  | { kind: 'release'; offerId: string | null; to: string };
