import { appError, badInput } from '../errors.js';
import type { User } from '../identity/user.js';
import { errorMessage, type Logger } from '../logger.js';
import type { Room } from '../rooms/room.js';
import type { RoomService } from '../rooms/room.service.js';
import type { ChatPubSub } from '../topics.js';
import { FreshCache } from './fresh-cache.js';
import type { SlowModeGate } from './slow-mode.gate.js';
import type { SlowModeRepository } from './slow-mode.repository.js';

export const SLOW_MODE_SECONDS_MAX = 3600;
/** As for bans (ban.service.ts): announcements are instant, and no instance trusts a setting longer than this. */
const SLOW_MODE_FRESH_MS = 1_000;
const SLOW_MODE_CACHE_ENTRIES = 100_000;
const ALL = 'all';

/**
 * Slow mode: per room, each user may send one message per `seconds`. The
 * setting lives in its own table (rooms are cached for good; this changes) and
 * is fresh on every instance within a second; the turns are handed out by a
 * SlowModeGate, atomic across instances with Redis.
 */
export class SlowModeService {
  private readonly cache: FreshCache<number>;

  constructor(
    private readonly settings: SlowModeRepository,
    private readonly rooms: RoomService,
    private readonly gate: SlowModeGate,
    private readonly pubsub: ChatPubSub,
    private readonly logger: Logger,
  ) {
    this.cache = new FreshCache((roomIds) => this.settings.findMany(roomIds), 0, SLOW_MODE_FRESH_MS, SLOW_MODE_CACHE_ENTRIES);
  }

  /** Hears the other instances' changes; call once before serving. (The pub/sub's close() ends it.) */
  async listen(): Promise<void> {
    this.pubsub.onResync(() => this.cache.clear());
    await this.pubsub.subscribe('moderation.slowMode', ALL, ({ roomId }) => this.cache.invalidate(roomId));
  }

  /** The contract's setSlowMode (operators only; the caller checked): 0 to 3600 seconds, 0 turns it off. */
  async set(roomId: string, seconds: number): Promise<Room> {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > SLOW_MODE_SECONDS_MAX) {
      throw badInput(`seconds must be from 0 (off) to ${SLOW_MODE_SECONDS_MAX}`);
    }
    const room = await this.rooms.get(roomId);
    await this.settings.upsert(room.id, seconds, new Date().toISOString());
    this.cache.set(room.id, seconds);
    this.pubsub.publish('moderation.slowMode', ALL, { roomId: room.id }).catch((error) => {
      this.logger.warn({ roomId: room.id, error: errorMessage(error) }, 'announcing a slow mode change failed; other instances see it within a second');
    });
    return room;
  }

  /** Room.slowModeSeconds: 0 when off. */
  secondsOf(roomId: string): Promise<number> {
    return this.cache.get(roomId);
  }

  /**
   * Takes the user's turn to send in the room, or refuses with RATE_LIMITED and
   * extensions.retryAfterSeconds (whole seconds, at least 1). Returns what gives
   * the turn back when the message is then not stored.
   */
  async claimTurn(user: User, roomId: string): Promise<() => void> {
    const seconds = await this.secondsOf(roomId);
    if (seconds === 0) return () => {};
    // The setting is part of the key: a changed setting starts everyone's turns afresh, so
    // shortening slow mode (or turning it off and on) never leaves a longer wait behind.
    const turn = await this.gate.claim(`${roomId}:${seconds}:${user.id}`, seconds * 1000);
    if (turn.granted) return turn.giveBack;
    const retryAfterSeconds = Math.max(1, Math.ceil(turn.retryAfterMs / 1000));
    throw appError('RATE_LIMITED', `slow mode: one message every ${seconds} s in this room; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
  }
}
