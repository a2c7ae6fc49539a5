import type { User } from '../identity/user.js';
import type { Message } from '../messages/message.js';

/** A user's report of a message, as operators see it. Plain JSON: it crosses Redis as is. */
export interface Report {
  id: string;
  /** The message as it was when reported. */
  message: Message;
  reporter: User;
  reason: string | null;
  /** ISO-8601, UTC. */
  createdAt: string;
}
