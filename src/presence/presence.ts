/**
 * One instance's users in one room, as it announces them to the others. A whole
 * set rather than a +1/-1, so a lost or repeated announcement heals itself.
 */
export interface PresenceShare {
  instanceId: string;
  roomId: string;
  userIds: string[];
  /** Epoch ms after which the share no longer counts unless renewed. */
  expiresAt: number;
}
