import type { User } from '../identity/user.js';

/** A setTyping(true) holds this long; the user stops typing by themselves unless they say it again. */
export const TYPING_LAPSE_MS = 5_000;

/**
 * One user's typing changed in a room, as every instance hears it (topic
 * `room.typing`, keyed by room id). The whole User travels, so nobody needs a
 * database read to say who is typing.
 */
export interface TypingChange {
  roomId: string;
  user: User;
  /** Epoch ms at which this typing lapses; null: the user stopped. */
  expiresAt: number | null;
}

/** Someone typing now, until `expiresAt` (epoch ms). */
export interface Typist {
  user: User;
  expiresAt: number;
}

/** What the typing subscription sends: who is typing in the room, the subscriber excluded. */
export interface TypingUpdate {
  roomId: string;
  users: User[];
}
