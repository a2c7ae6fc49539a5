import { appError, badInput, notFound } from '../errors.js';
import type { IdentityService } from '../identity/identity.service.js';
import type { User } from '../identity/user.js';
import { errorMessage, type Logger } from '../logger.js';
import type { ChatPubSub } from '../topics.js';
import type { BanRepository } from './ban.repository.js';
import { FreshCache } from './fresh-cache.js';

/** Ten years: long enough for any timed ban; omit `seconds` for one until lifted. */
export const BAN_SECONDS_MAX = 10 * 365 * 24 * 3600;
/**
 * How long an instance trusts what it read of a user's ban. Announcements make
 * a ban bite everywhere within milliseconds; this bounds it to a second when
 * one is lost (Redis away), at the price of one read per writing user per second.
 */
const BAN_FRESH_MS = 1_000;
const BAN_CACHE_ENTRIES = 100_000;
const ALL = 'all';

/** Until when (epoch ms; Infinity: until lifted) a user is banned; null: not banned. */
type BannedUntil = number | null;

/**
 * Bans: a banned user may still read, but every write path refuses them
 * (moderation/ban-guard.ts), on every instance within a second of the ban.
 * A timed ban lifts itself: it is stored with its end and compared with the
 * clock on each check, so nothing has to run when it ends.
 */
export class BanService {
  private readonly cache: FreshCache<BannedUntil>;

  constructor(
    private readonly bans: BanRepository,
    private readonly identity: IdentityService,
    private readonly pubsub: ChatPubSub,
    private readonly logger: Logger,
  ) {
    this.cache = new FreshCache(
      async (userIds) => new Map((await this.bans.findMany(userIds)).map((row) => [row.user_id, row.until === null ? Infinity : Date.parse(row.until)])),
      null,
      BAN_FRESH_MS,
      BAN_CACHE_ENTRIES,
    );
  }

  /** Hears the other instances' bans; call once before serving. (The pub/sub's close() ends it.) */
  async listen(): Promise<void> {
    this.pubsub.onResync(() => this.cache.clear());
    await this.pubsub.subscribe('moderation.ban', ALL, ({ userId }) => this.cache.invalidate(userId));
  }

  /** The contract's banUser: `seconds` from now, or until lifted when omitted. NOT_FOUND for no such user. */
  async ban(userId: string, seconds: number | null | undefined): Promise<void> {
    if (seconds != null && (!Number.isInteger(seconds) || seconds < 1 || seconds > BAN_SECONDS_MAX)) {
      throw badInput(`seconds must be from 1 to ${BAN_SECONDS_MAX}, or omitted for a ban until lifted`);
    }
    await this.requireUser(userId);
    const now = Date.now();
    const until = seconds == null ? null : now + seconds * 1000;
    await this.bans.upsert(userId, until === null ? null : new Date(until).toISOString(), new Date(now).toISOString());
    this.changed(userId, until ?? Infinity);
  }

  /** The contract's unbanUser; unbanning someone not banned changes nothing. NOT_FOUND for no such user. */
  async unban(userId: string): Promise<void> {
    await this.requireUser(userId);
    await this.bans.delete(userId);
    this.changed(userId, null);
  }

  /** Until when `user` is banned (epoch ms, Infinity: until lifted), or null when they may write now. */
  async bannedUntil(user: User): Promise<BannedUntil> {
    const until = await this.cache.get(user.id);
    return until !== null && until > Date.now() ? until : null;
  }

  /** FORBIDDEN when `user` is banned now. */
  async requireNotBanned(user: User): Promise<void> {
    const until = await this.bannedUntil(user);
    if (until === null) return;
    const bannedUntil = until === Infinity ? null : new Date(until).toISOString();
    const message = bannedUntil ? `you are banned until ${bannedUntil}: you can read, but not write` : 'you are banned until an operator lifts it: you can read, but not write';
    throw appError('FORBIDDEN', message, { bannedUntil });
  }

  private async requireUser(userId: string): Promise<void> {
    if (!(await this.identity.find(userId))) throw notFound(`user "${userId.slice(0, 64)}" does not exist`);
  }

  /** Known here at once; the other instances drop what they knew when the announcement arrives. */
  private changed(userId: string, until: BannedUntil): void {
    this.cache.set(userId, until);
    this.pubsub.publish('moderation.ban', ALL, { userId }).catch((error) => {
      // The others still see it within BAN_FRESH_MS: they re-read at least that often.
      this.logger.warn({ userId, error: errorMessage(error) }, 'announcing a ban change failed; other instances see it within a second');
    });
  }
}
