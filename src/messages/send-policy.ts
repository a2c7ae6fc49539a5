import type { User } from '../identity/user.js';

/**
 * What must agree before a message is stored, beyond the message's own rules:
 * the moderation domain implements it (blocklist, slow mode), so messages
 * needs to know nothing of either.
 */
export interface SendPolicy {
  /**
   * Throws (an appError) when the message must not be stored. Otherwise returns
   * `giveBack`, which the sender calls when the send then stores nothing (it
   * failed, or it was a retry of a stored message), so a slow-mode turn is not
   * spent on a message nobody sees.
   */
  admit(sender: User, roomId: string, body: string): Promise<() => void>;
}

/** No moderation: every send is admitted. */
export const ADMIT_EVERY_SEND: SendPolicy = {
  admit: async () => () => {},
};
