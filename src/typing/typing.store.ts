import type { User } from '../identity/user.js';
import type { Typist } from './typing.js';

/**
 * Who is typing where right now, for a subscriber that arrives after they
 * started: the "current set first" of the typing subscription. Entries lapse by
 * themselves; nothing here outlives a few seconds, and nothing goes to the database.
 */
export interface TypingStore {
  /** `user` types in the room until `expiresAt`. */
  start(roomId: string, user: User, expiresAt: number): Promise<void>;
  /** `user` stopped; false when they were not typing there, so there is no change to tell anyone. */
  stop(roomId: string, user: User): Promise<boolean>;
  /** Everyone typing in the room now. */
  read(roomId: string): Promise<Typist[]>;
  close(): void;
}

/** One instance: the set lives in this process. */
export class MemoryTypingStore implements TypingStore {
  /** roomId → userId → until when. */
  private readonly rooms = new Map<string, Map<string, Typist>>();
  private readonly sweep: NodeJS.Timeout;

  constructor(lapseMs: number) {
    // Rooms nobody types in any more are forgotten, not kept with lapsed entries.
    this.sweep = setInterval(() => {
      for (const roomId of [...this.rooms.keys()]) this.live(roomId);
    }, lapseMs);
    this.sweep.unref();
  }

  async start(roomId: string, user: User, expiresAt: number): Promise<void> {
    let typists = this.rooms.get(roomId);
    if (!typists) this.rooms.set(roomId, (typists = new Map()));
    typists.set(user.id, { user, expiresAt });
  }

  async stop(roomId: string, user: User): Promise<boolean> {
    const typists = this.live(roomId);
    if (!typists?.delete(user.id)) return false;
    if (typists.size === 0) this.rooms.delete(roomId);
    return true;
  }

  async read(roomId: string): Promise<Typist[]> {
    return [...(this.live(roomId)?.values() ?? [])];
  }

  close(): void {
    clearInterval(this.sweep);
    this.rooms.clear();
  }

  /** The room's entries without the lapsed ones. */
  private live(roomId: string): Map<string, Typist> | undefined {
    const typists = this.rooms.get(roomId);
    if (!typists) return undefined;
    const now = Date.now();
    for (const [userId, typist] of typists) if (typist.expiresAt <= now) typists.delete(userId);
    if (typists.size === 0) this.rooms.delete(roomId);
    return typists;
  }
}
