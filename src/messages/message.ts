import type { User } from '../identity/user.js';

/**
 * A stored message with everything a delivery needs (the sender included), so
 * fan-out never reads the database per subscriber. Plain JSON: it crosses Redis as is.
 */
export interface Message {
  id: string;
  roomId: string;
  seq: number;
  sender: User;
  body: string;
  /** ISO-8601, UTC. */
  createdAt: string;
  clientMessageId: string | null;
}
