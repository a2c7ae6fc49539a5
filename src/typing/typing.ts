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

/**
 * One subscriber's view of a room's typists for one update: the room's set and
 * where the subscriber is in it. Every subscriber of an update gets the same
 * `everyone` array (the same object, never changed), so a transport can render
 * it once and leave out one entry per subscriber instead of rendering each view.
 */
export interface TypingView {
  readonly everyone: readonly User[];
  /** The subscriber's place in `everyone` when they type themselves (their view leaves them out); -1 when not. */
  readonly selfIndex: number;
}

/** The users a view lists: everyone typing but the subscriber. */
export function usersOf(view: TypingView): User[] {
  const { everyone, selfIndex } = view;
  return selfIndex < 0 ? [...everyone] : [...everyone.slice(0, selfIndex), ...everyone.slice(selfIndex + 1)];
}
