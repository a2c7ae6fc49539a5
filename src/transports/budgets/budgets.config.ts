/**
 * The automatic budgets (RATE_LIMITS, RATE_LIMIT_*, MAX_SOCKETS_PER_*), parsed
 * for src/config.ts. Operators' slow mode and bans are not budgets: this
 * switch never turns them off.
 */

/** A decaying budget: `perSecond` comes back each second, up to `burst` at once. */
export interface Rate {
  perSecond: number;
  burst: number;
}

/** What a budgeted root field is counted against: the caller, the caller's address, or the room it names. */
export type BudgetKey = 'user' | 'ip' | 'room';

/** The root fields with a budget, each counted against one key. */
export const OPERATION_BUDGETS = {
  sendMessageUser: { field: 'sendMessage', key: 'user', env: 'RATE_LIMIT_SEND_MESSAGE_USER', fallback: { perSecond: 0.2, burst: 10 } },
  sendMessageRoom: { field: 'sendMessage', key: 'room', env: 'RATE_LIMIT_SEND_MESSAGE_ROOM', fallback: { perSecond: 10, burst: 100 } },
  issueTokenIp: { field: 'issueToken', key: 'ip', env: 'RATE_LIMIT_ISSUE_TOKEN_IP', fallback: { perSecond: 0.17, burst: 3 } },
  createRoomUser: { field: 'createRoom', key: 'user', env: 'RATE_LIMIT_CREATE_ROOM_USER', fallback: { perSecond: 1 / 60, burst: 5 } },
  openDirectRoomUser: { field: 'openDirectRoom', key: 'user', env: 'RATE_LIMIT_OPEN_DIRECT_ROOM_USER', fallback: { perSecond: 0.2, burst: 10 } },
  setTypingUser: { field: 'setTyping', key: 'user', env: 'RATE_LIMIT_SET_TYPING_USER', fallback: { perSecond: 1, burst: 10 } },
  reportMessageUser: { field: 'reportMessage', key: 'user', env: 'RATE_LIMIT_REPORT_MESSAGE_USER', fallback: { perSecond: 0.1, burst: 5 } },
  matchFoundUser: { field: 'matchFound', key: 'user', env: 'RATE_LIMIT_MATCH_FOUND_USER', fallback: { perSecond: 0.2, burst: 5 } },
} as const satisfies Record<string, { field: string; key: BudgetKey; env: string; fallback: Rate }>;

export type OperationBudgetName = keyof typeof OPERATION_BUDGETS;

/** The WebSocket transport's budgets: upgrades, open sockets, and each socket's own frames. */
export const SOCKET_BUDGETS = {
  upgradesPerIp: { env: 'RATE_LIMIT_WS_UPGRADE_IP', fallback: { perSecond: 10, burst: 50 } },
  messagesPerSocket: { env: 'RATE_LIMIT_WS_MESSAGES', fallback: { perSecond: 20, burst: 120 } },
  startsPerSocket: { env: 'RATE_LIMIT_WS_STARTS', fallback: { perSecond: 50, burst: 20 } },
} as const satisfies Record<string, { env: string; fallback: Rate }>;

export const SOCKET_CAPS = {
  socketsPerIp: { env: 'MAX_SOCKETS_PER_IP', fallback: 100 },
  socketsPerUser: { env: 'MAX_SOCKETS_PER_USER', fallback: 20 },
} as const satisfies Record<string, { env: string; fallback: number }>;

export interface RateLimitsConfig {
  operations: Record<OperationBudgetName, Rate>;
  /** WebSocket upgrades per client address (HTTP 429 past it). */
  upgradesPerIp: Rate;
  /** Frames (any message, pings included) per socket; past it the socket is closed 1008. */
  messagesPerSocket: Rate;
  /** Operation starts (subscribe frames) per socket; past it they wait their turn, in order. */
  startsPerSocket: Rate;
  /** Open sockets per client address, on one instance (HTTP 429 on upgrade past it). */
  socketsPerIp: number;
  /** Open sockets per user, on one instance (closed 1013 at connection_init past it). */
  socketsPerUser: number;
}

export const DEFAULT_RATE_LIMITS: RateLimitsConfig = {
  operations: Object.fromEntries(Object.entries(OPERATION_BUDGETS).map(([name, budget]) => [name, budget.fallback])) as Record<OperationBudgetName, Rate>,
  upgradesPerIp: SOCKET_BUDGETS.upgradesPerIp.fallback,
  messagesPerSocket: SOCKET_BUDGETS.messagesPerSocket.fallback,
  startsPerSocket: SOCKET_BUDGETS.startsPerSocket.fallback,
  socketsPerIp: SOCKET_CAPS.socketsPerIp.fallback,
  socketsPerUser: SOCKET_CAPS.socketsPerUser.fallback,
};

type Text = (name: string) => string | undefined;

/**
 * RATE_LIMITS=off: null, every automatic budget off (benchmarks, load tests).
 * Otherwise each RATE_LIMIT_* is `<per second>,<burst>` (`0.2,10`) and each
 * MAX_SOCKETS_PER_* a whole number; unset ones keep their defaults.
 */
export function parseRateLimits(text: Text, problems: string[]): RateLimitsConfig | null {
  const mode = (text('RATE_LIMITS') ?? 'on').toLowerCase();
  if (mode === 'off') return null;
  if (mode !== 'on') problems.push(`RATE_LIMITS must be on or off, got "${text('RATE_LIMITS')}"`);
  const rate = (env: string, fallback: Rate): Rate => {
    const raw = text(env);
    if (raw === undefined) return fallback;
    const match = /^(\d+(?:\.\d+)?)\s*,\s*(\d{1,7})$/.exec(raw);
    const perSecond = match ? Number(match[1]) : NaN;
    const burst = match ? Number(match[2]) : NaN;
    if (!(perSecond > 0 && perSecond <= 1_000_000) || !(burst >= 1)) {
      problems.push(`${env} must be "<per second>,<burst>" with both above 0 (e.g. "0.2,10"), got "${raw}"`);
      return fallback;
    }
    return { perSecond, burst };
  };
  const count = (env: string, fallback: number): number => {
    const raw = text(env);
    if (raw === undefined) return fallback;
    const value = /^\d{1,7}$/.test(raw) ? Number(raw) : NaN;
    if (!(value >= 1)) {
      problems.push(`${env} must be a whole number of at least 1, got "${raw}"`);
      return fallback;
    }
    return value;
  };
  const operations = {} as Record<OperationBudgetName, Rate>;
  for (const [name, budget] of Object.entries(OPERATION_BUDGETS) as [OperationBudgetName, (typeof OPERATION_BUDGETS)[OperationBudgetName]][]) {
    operations[name] = rate(budget.env, budget.fallback);
  }
  return {
    operations,
    upgradesPerIp: rate(SOCKET_BUDGETS.upgradesPerIp.env, SOCKET_BUDGETS.upgradesPerIp.fallback),
    messagesPerSocket: rate(SOCKET_BUDGETS.messagesPerSocket.env, SOCKET_BUDGETS.messagesPerSocket.fallback),
    startsPerSocket: rate(SOCKET_BUDGETS.startsPerSocket.env, SOCKET_BUDGETS.startsPerSocket.fallback),
    socketsPerIp: count(SOCKET_CAPS.socketsPerIp.env, SOCKET_CAPS.socketsPerIp.fallback),
    socketsPerUser: count(SOCKET_CAPS.socketsPerUser.env, SOCKET_CAPS.socketsPerUser.fallback),
  };
}

/**
 * TRUST_PROXY: how many proxies in front append to X-Forwarded-For, whose
 * entries name the client: off (the default) 0, the socket's address decides;
 * on 1; or a number of proxies in a chain (a CDN and a load balancer: 2).
 */
export function parseTrustProxy(text: Text, problems: string[]): number {
  const raw = (text('TRUST_PROXY') ?? 'off').toLowerCase();
  if (raw === 'off') return 0;
  if (raw === 'on') return 1;
  if (/^\d{1,2}$/.test(raw) && Number(raw) <= 10) return Number(raw);
  problems.push(`TRUST_PROXY must be off, on, or the number of proxies in front (0 to 10), got "${text('TRUST_PROXY')}"`);
  return 0;
}

/** TRUST_PROXY as an operator would write it. */
export function trustProxyEnv(trustedProxies: number): Record<string, string> {
  return trustedProxies === 0 ? {} : { TRUST_PROXY: trustedProxies === 1 ? 'on' : String(trustedProxies) };
}

/** The environment that gives back `limits` (for server processes the tests and drills start). */
export function rateLimitsEnv(limits: RateLimitsConfig | null): Record<string, string> {
  if (limits === null) return { RATE_LIMITS: 'off' };
  const env: Record<string, string> = {};
  const put = (name: string, rate: Rate, fallback: Rate) => {
    if (rate.perSecond !== fallback.perSecond || rate.burst !== fallback.burst) env[name] = `${rate.perSecond},${rate.burst}`;
  };
  for (const [name, budget] of Object.entries(OPERATION_BUDGETS) as [OperationBudgetName, (typeof OPERATION_BUDGETS)[OperationBudgetName]][]) {
    put(budget.env, limits.operations[name], budget.fallback);
  }
  put(SOCKET_BUDGETS.upgradesPerIp.env, limits.upgradesPerIp, SOCKET_BUDGETS.upgradesPerIp.fallback);
  put(SOCKET_BUDGETS.messagesPerSocket.env, limits.messagesPerSocket, SOCKET_BUDGETS.messagesPerSocket.fallback);
  put(SOCKET_BUDGETS.startsPerSocket.env, limits.startsPerSocket, SOCKET_BUDGETS.startsPerSocket.fallback);
  if (limits.socketsPerIp !== SOCKET_CAPS.socketsPerIp.fallback) env[SOCKET_CAPS.socketsPerIp.env] = String(limits.socketsPerIp);
  if (limits.socketsPerUser !== SOCKET_CAPS.socketsPerUser.fallback) env[SOCKET_CAPS.socketsPerUser.env] = String(limits.socketsPerUser);
  return env;
}
