import { badInput } from '../errors.js';
import { uuidv7 } from '../infrastructure/ids.js';
import { randomNickname, randomTag } from './nicknames.js';
import type { TokenService } from './token.js';
import type { UserRepository } from './user.repository.js';
import { handleOf, userOf, userRowToUser, type User } from './user.js';
import type { Viewer } from './viewer.js';

/** A viewer with a user: shared, so never changed once made. */
type ActiveViewer = Extract<Viewer, { problem: null }>;

export interface AuthPayload {
  token: string;
  expiresAt: Date;
  user: User;
}

export const NICKNAME_MAX = 24;
// Letters and digits of any script, and a few joiners; no '#', which separates the tag.
const NICKNAME_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N} _.\-']*$/u;
/** With 10,000 tags a nickname is only "full" when almost all are taken; give up well before spinning. */
const TAG_ATTEMPTS = 25;
const KNOWN_USERS_CACHE = 100_000;
const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class IdentityService {
  /**
   * Users seen to exist, by id, each with the viewer its latest token made;
   * users are never deleted, so the cache only saves reads. A user's sockets
   * (tabs sharing a token, devices, reconnects) share one User object, and
   * those with the same token one Viewer, rather than a copy of its strings
   * each (some 250 bytes per socket).
   */
  private readonly knownUsers = new Map<string, ActiveViewer>();

  constructor(
    private readonly users: UserRepository,
    private readonly tokens: TokenService,
  ) {}

  /** The contract's issueToken: refresh a known user, or make a new one. */
  async issueToken(args: { nickname?: string | null; previousToken?: string | null }): Promise<AuthPayload> {
    const nickname = args.nickname == null ? null : validateNickname(args.nickname);
    if (args.previousToken) {
      const claims = this.tokens.verifyForRefresh(args.previousToken);
      const known = claims ? await this.users.findById(claims.sub) : null;
      // An unusable previous token is not an error: the caller simply gets a new identity.
      if (known) return this.payloadFor(userRowToUser(known));
    }
    return this.payloadFor(await this.createUser(nickname ?? randomNickname()));
  }

  /** The contract's renewToken: a fresh token for a caller whose token is valid now (never an expired one). */
  renewToken(user: User): AuthPayload {
    return this.payloadFor(user);
  }

  /** The user with this id, or null (also for ids that could never exist: they never reach the database). */
  async find(id: string): Promise<User | null> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) return null;
    const row = await this.users.findById(id);
    return row ? userRowToUser(row) : null;
  }

  /** The users among `ids` that exist (ids that could never exist are left out unasked), in no particular order. */
  async findMany(ids: readonly string[]): Promise<User[]> {
    const wanted = ids.filter((id) => USER_ID.test(id));
    return (await this.users.findByIds(wanted)).map(userRowToUser);
  }

  /** Resolves a bearer token to the user it names; the user must still exist. */
  async viewerFromToken(token: string | null): Promise<Viewer> {
    const check = this.tokens.verify(token);
    if (!check.ok) return { user: null, problem: check.problem };
    const { sub, nickname, tag } = check.claims;
    const expiresAt = check.claims.exp * 1000;
    const known = this.knownUsers.get(sub);
    if (known && known.user.nickname === nickname && known.user.tag === tag) {
      if (known.expiresAt === expiresAt) return known;
      const viewer: ActiveViewer = { user: known.user, problem: null, expiresAt };
      this.knownUsers.set(sub, viewer);
      return viewer;
    }
    // A token outliving its user (a wiped database that kept its secret) must not act.
    if (!known && !(await this.users.findById(sub))) return { user: null, problem: 'invalid token' };
    if (this.knownUsers.size >= KNOWN_USERS_CACHE) this.knownUsers.clear();
    // The token names the user as it was when signed: that is who this viewer is.
    const viewer: ActiveViewer = { user: userOf(sub, nickname, tag), problem: null, expiresAt };
    this.knownUsers.set(sub, viewer);
    return viewer;
  }

  private payloadFor(user: User): AuthPayload {
    const { token, expiresAt } = this.tokens.sign(user);
    return { token, expiresAt, user };
  }

  private async createUser(nickname: string): Promise<User> {
    for (let attempt = 0; attempt < TAG_ATTEMPTS; attempt++) {
      const tag = randomTag();
      const row = await this.users.insertIfHandleFree({
        id: uuidv7(),
        nickname,
        tag,
        handle: handleOf(nickname, tag),
        created_at: new Date().toISOString(),
      });
      if (row) return userRowToUser(row);
    }
    // The nickname is the input at fault (nearly all of its 10,000 tags are taken), not the caller's pace.
    throw badInput(`nickname "${nickname}" has no free tag left; choose another nickname`);
  }
}

function validateNickname(raw: string): string {
  const nickname = raw.trim().normalize('NFC');
  const length = [...nickname].length;
  if (length < 2 || length > NICKNAME_MAX) throw badInput(`nickname must be 2 to ${NICKNAME_MAX} characters`);
  if (!NICKNAME_PATTERN.test(nickname)) {
    throw badInput("nickname may contain letters, digits, spaces and _ . - ' and must start with a letter or digit");
  }
  return nickname;
}
