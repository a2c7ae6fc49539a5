import type { Message } from './message.js';

/**
 * What the messages domain tells whoever watches it (the metrics, wired in
 * app.ts). Called once per message or per batch, never once per subscriber:
 * the fan-out loop only counts.
 */
export interface MessageObserver {
  /** This instance stored a new message. */
  stored(message: Message): void;
  /** A message went out live to `deliveries` subscribers in this process; called after the last of them got it. */
  dispatched(message: Message, deliveries: number): void;
  /** `deliveries` messages read from the database went to a subscriber catching up (`after`). */
  replayed(deliveries: number): void;
  /** `count` messages missed live (a lost event, a pub/sub outage) were read back from the database and dispatched. */
  refilled(count: number): void;
}

export const UNOBSERVED: MessageObserver = {
  stored() {},
  dispatched() {},
  replayed() {},
  refilled() {},
};
