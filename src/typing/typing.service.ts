import type { User } from '../identity/user.js';
import { errorMessage, type Logger } from '../logger.js';
import type { ChatPubSub } from '../topics.js';
import { RoomTyping, type TypingBudget, type TypingListener } from './room-typing.js';
import type { TypingStore } from './typing.store.js';
import { TYPING_LAPSE_MS, type Typist } from './typing.js';

/** At most one typing update per room per this long to each subscriber: under 4 a second. */
export const TYPING_COALESCE_MS = 300;
/**
 * How much a room's typing updates may cost per second, summed over its
 * subscribers on this instance (see RoomTyping). A user rendered on the general
 * path (executed, serialised, collected) costs the server 2–3 µs
 * (docs/benchmarks.md), so 10,000 a second are a few percent of a core. A user
 * listed is ~80 bytes on the wire, to the server cheap on the fast path (shared
 * bytes) but not to its subscribers: 100,000 a second are ~8 MB/s, about as
 * much as a room's messages send in a busy second. A room whose updates list
 * fewer than 3,000 users in all (100 subscribers, 30 typing) is never slowed
 * by either.
 */
export const TYPING_BUDGET: TypingBudget = { renderedPerSecond: 10_000, listedPerSecond: 100_000 };

export interface TypingOptions {
  /** @default TYPING_LAPSE_MS (5 s) */
  lapseMs?: number;
  /** @default TYPING_COALESCE_MS */
  coalesceMs?: number;
  /** @default TYPING_BUDGET */
  budget?: TypingBudget;
}

/**
 * Who is typing in which room: ephemeral (never in the database), lapsing by
 * itself, across instances. A setTyping is written to the store (for
 * subscribers that arrive later) and then published on `room.typing`; every
 * instance with typing subscribers for the room keeps the set from those
 * changes and sends each subscriber the set without them, coalesced.
 */
export class TypingService {
  private readonly watched = new Map<string, RoomTyping>();
  private readonly lapseMs: number;
  private readonly coalesceMs: number;
  private readonly budget: TypingBudget;

  constructor(
    private readonly store: TypingStore,
    private readonly pubsub: ChatPubSub,
    private readonly logger: Logger,
    options: TypingOptions = {},
  ) {
    this.lapseMs = options.lapseMs ?? TYPING_LAPSE_MS;
    this.coalesceMs = options.coalesceMs ?? TYPING_COALESCE_MS;
    this.budget = options.budget ?? TYPING_BUDGET;
    // Changes published while the link was down are lost: read the sets again.
    pubsub.onResync(() => {
      for (const [roomId, room] of this.watched) {
        room.resyncing();
        void this.load(roomId, room);
      }
    });
  }

  /**
   * The caller types in the room (until they say it again or the lapse), or has
   * stopped. Best effort: when the store or the pub/sub is away the change is
   * logged and dropped, and the next setTyping or the lapse puts things right.
   */
  async set(user: User, roomId: string, typing: boolean): Promise<void> {
    try {
      if (typing) {
        const expiresAt = Date.now() + this.lapseMs;
        await this.store.start(roomId, user, expiresAt);
        // Awaited, so a client's next setTyping (wherever it lands) is published after this one.
        await this.pubsub.publish('room.typing', roomId, { roomId, user, expiresAt });
      } else if (await this.store.stop(roomId, user)) {
        await this.pubsub.publish('room.typing', roomId, { roomId, user, expiresAt: null });
      }
    } catch (error) {
      this.logger.warn({ roomId, error: errorMessage(error) }, 'sharing a typing change failed; it lapses or is said again within seconds');
    }
  }

  /**
   * Calls `listener` with who types in the room now (without `viewerId`), then
   * with each new set, coalesced to at most one call per TYPING_COALESCE_MS
   * (less often in a room whose updates would cost more than TYPING_BUDGET).
   * The returned function stops it.
   */
  async watch(roomId: string, viewerId: string, listener: TypingListener): Promise<() => void> {
    let room = this.watched.get(roomId);
    if (!room) {
      const created = (room = new RoomTyping(this.coalesceMs, this.budget));
      this.watched.set(roomId, created);
      created.ready = (async () => {
        const stopListening = await this.pubsub.subscribe('room.typing', roomId, (change) => created.receive(change));
        // Everyone left while we subscribed: let the channel go at once.
        if (created.stopped) return void (await stopListening());
        created.stopListening = stopListening;
        await this.load(roomId, created);
      })();
    }
    const current = room;
    current.add(listener, viewerId);
    try {
      await current.ready;
    } catch (error) {
      this.unwatch(roomId, current, listener);
      throw error;
    }
    current.welcome(listener);
    return () => this.unwatch(roomId, current, listener);
  }

  /** Stops every room's timers and channels; nothing is sent after this. */
  close(): void {
    for (const room of this.watched.values()) room.stop();
    this.watched.clear();
    this.store.close();
  }

  /** Fills the room's set from the store; when it cannot be read, from the changes heard from now on. */
  private async load(roomId: string, room: RoomTyping): Promise<void> {
    let snapshot: Typist[] = [];
    try {
      snapshot = await this.store.read(roomId);
    } catch (error) {
      this.logger.warn({ roomId, error: errorMessage(error) }, 'reading who is typing failed; starting from the changes heard from now on');
    }
    room.sync(snapshot);
  }

  private unwatch(roomId: string, room: RoomTyping, listener: TypingListener): void {
    room.watchers.delete(listener);
    if (room.watchers.size === 0 && this.watched.get(roomId) === room) {
      this.watched.delete(roomId);
      room.stop();
    }
  }
}
