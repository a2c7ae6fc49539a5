import type { IssueTokenMutation, IssueTokenMutationVariables } from './generated/graphql.js';

/** Where the identity is kept: localStorage and sessionStorage fit, and so does anything async with the same two methods. */
export interface ChatStorage {
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
}

/** A storage that lives as long as the process (Node scripts, tests). */
export function memoryStorage(initial: Record<string, string> = {}): ChatStorage {
  const items = new Map(Object.entries(initial));
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
  };
}

/** The identity the server issued: its token and who it is. */
export type Session = IssueTokenMutation['issueToken'];
export type SessionUser = Session['user'];

/** A token this close to its expiry is treated as expired (clocks differ, requests take time). */
const EXPIRY_SLACK_MS = 5_000;

export function isExpired(session: Pick<Session, 'expiresAt'>, now = Date.now()): boolean {
  return Date.parse(session.expiresAt) - EXPIRY_SLACK_MS <= now;
}

function parseSession(raw: string | null): Session | null {
  if (!raw) return null;
  try {
    const session = JSON.parse(raw) as Session;
    return typeof session?.token === 'string' && typeof session.expiresAt === 'string' && typeof session.user?.id === 'string' ? session : null;
  } catch {
    return null;
  }
}

export interface IdentityOptions {
  storage: ChatStorage;
  storageKey: string;
  /** The nickname of a user made for a first visit. */
  nickname?: string;
  issue(variables: IssueTokenMutationVariables): Promise<Session>;
  onChange(session: Session): void;
}

/**
 * The person's identity, kept in storage: a first visit gets a new user, a
 * later one the stored token, and a stored token that expired comes back as
 * the same user through issueToken(previousToken). Changes run one at a time.
 */
export class Identity {
  session: Session | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private loading: Promise<Session> | null = null;

  constructor(private readonly options: IdentityOptions) {
    this.ready().catch(() => {});
  }

  /**
   * A usable session: the current one while it is valid; else the stored one,
   * restored when it expired, or a new user on a first visit. A failed attempt
   * (the server unreachable) is tried again by the next call.
   */
  async ready(): Promise<Session> {
    const current = this.session;
    if (current) return isExpired(current) ? this.recover(current.token) : current;
    return (this.loading ??= this.serially(async () => {
      const stored = parseSession(await this.options.storage.getItem(this.options.storageKey));
      if (stored && !isExpired(stored)) return this.adopt(stored, false);
      return this.adopt(await this.options.issue(stored ? { previousToken: stored.token } : { nickname: this.options.nickname ?? null }));
    }).finally(() => (this.loading = null)));
  }

  async token(): Promise<string> {
    return (await this.ready()).token;
  }

  /**
   * The server refused `rejected` (null: whatever the current token is):
   * unless a newer, unexpired token replaced it meanwhile, get one with
   * issueToken(previousToken), which keeps the user.
   */
  recover(rejected: string | null): Promise<Session> {
    if (!this.session) return this.ready();
    return this.serially(async () => {
      const current = this.session!;
      if (!isExpired(current) && rejected !== null && current.token !== rejected) return current;
      return this.adopt(await this.options.issue({ previousToken: current.token }));
    });
  }

  /** A new user with this nickname (the contract has no renaming: a nickname comes with a new user and handle). */
  changeNickname(nickname: string): Promise<Session> {
    return this.serially(async () => this.adopt(await this.options.issue({ nickname })));
  }

  /** A fresh token for the same user (renewToken's answer). */
  renewed(session: Session): Promise<Session> {
    return this.serially(async () => this.adopt(session));
  }

  private async adopt(session: Session, store = true): Promise<Session> {
    this.session = session;
    if (store) await this.options.storage.setItem(this.options.storageKey, JSON.stringify(session));
    this.options.onChange(session);
    return session;
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => {});
    return run;
  }
}
