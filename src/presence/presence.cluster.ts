import type { PresenceShare } from './presence.js';

/**
 * How an instance learns the other instances' users. Each instance owns its
 * share of every room (the users it serves there) and announces it whole; a
 * share it stops renewing expires, so a killed instance's users stop counting.
 */
export interface PresenceCluster {
  /** Publishes this instance's users in the room (an empty list withdraws the share). */
  announce(roomId: string, userIds: string[], expiresAt: number): Promise<void>;
  /** Every other instance's current share of the room. */
  read(roomId: string): Promise<PresenceShare[]>;
  /** Calls `listener` whenever another instance announces a share of the room. */
  watch(roomId: string, listener: (share: PresenceShare) => void): Promise<() => Promise<void>>;
}

/** A single instance has no one to tell. */
export class SoloPresenceCluster implements PresenceCluster {
  async announce(): Promise<void> {}
  async read(): Promise<PresenceShare[]> {
    return [];
  }
  async watch(): Promise<() => Promise<void>> {
    return async () => {};
  }
}
