import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseOperations, type OperationsConfig } from './operations.config.js';
import { parseRateLimits, parseTrustProxy, type RateLimitsConfig } from './transports/budgets/budgets.config.js';
import { readQueryLimits, type QueryLimitsConfig } from './transports/limits/limits-config.js';

/**
 * Everything the server reads from its environment, parsed and validated in one
 * place. Nothing else in src/ reads process.env: the Config object is passed down.
 */
export interface Config {
  /** TCP port for HTTP, WebSocket and SSE. @default 4000 (0 picks a free port) */
  port: number;
  /** Interface to bind. @default "0.0.0.0" */
  host: string;
  /** SQLite file under DATA_DIR unless DATABASE_URL names PostgreSQL. */
  database: SqliteDatabaseConfig | PostgresDatabaseConfig;
  /** Redis for cross-instance pub/sub and presence; null runs everything in-process (or on redisClusterNodes). */
  redisUrl: string | null;
  /**
   * Seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES), instead of redisUrl; null: no cluster.
   * Optional only so configs built by hand elsewhere (bench/config.ts) still type-check: absent means null.
   */
  redisClusterNodes: RedisClusterNode[] | null;
  /** HS256 secret, ≥ 32 bytes; null makes the server generate one and keep it in dataDir. */
  jwtSecret: string | null;
  /** Folder for the SQLite database and a generated secret. @default "./data" */
  dataDir: string;
  /** Lifetime of an issued token. @default 604800 (7 days) */
  tokenTtlSeconds: number;
  /** Origins allowed to open a WebSocket or make CORS requests; null allows all. */
  allowedOrigins: string[] | null;
  logLevel: LogLevel;
  /** How long an instance's share of presence outlives its last heartbeat. @default 30 */
  presenceTtlSeconds: number;
  /** The operators' bearer (ADMIN_TOKEN, at least 32 characters); null: every operator-only field is FORBIDDEN. */
  adminToken: string | null;
  /** The words and phrases no message may contain, one per line of BLOCKLIST_FILE; null: no blocklist. */
  blocklist: string[] | null;
  /** The automatic rate budgets and socket caps (RATE_LIMIT_*, MAX_SOCKETS_PER_*); null: RATE_LIMITS=off. Never slow mode or bans. */
  rateLimits: RateLimitsConfig | null;
  /** Proxies in front whose X-Forwarded-For entries name the client (TRUST_PROXY: off 0, on 1); 0: the socket's address. */
  trustProxy: number;
  /**
   * Metrics, access log and start-up (METRICS_TOKEN, ACCESS_LOG, DATABASE_START_WAIT_SECONDS).
   * Optional only so configs built by hand (tests, bench) type-check: absent means /metrics open,
   * the access log on, and 30 s of retries for PostgreSQL.
   */
  operations: OperationsConfig;
  /** Query limits, HTTP body limit, and introspection (GRAPHQL_MAX_*, HTTP_MAX_BODY_BYTES, GRAPHQL_INTROSPECTION). */
  queryLimits: QueryLimitsConfig;
  /** WebSocket tuning; not read from the environment (tests and benchmarks set it). */
  websocket: WebSocketConfig;
}

export interface WebSocketConfig {
  /** Ping interval; a peer that has not answered by the next ping is dropped. @default 12000 */
  keepAliveMs: number;
  /** A socket whose unsent bytes stay above this is closed 4008 "slow consumer". @default 1 MiB */
  maxBufferedBytes: number;
  /** Subscriptions one socket may hold at once. @default 100 */
  maxSubscriptions: number;
  /** Time a socket has to send connection_init before it is closed 4408. @default 3000 */
  connectionInitTimeoutMs: number;
  /** Largest frame accepted; a larger one is closed with 1009 before it is parsed. @default 64 KiB */
  maxPayloadBytes: number;
}

export const DEFAULT_WEBSOCKET_CONFIG: WebSocketConfig = {
  keepAliveMs: 12_000,
  maxBufferedBytes: 1024 * 1024,
  maxSubscriptions: 100,
  connectionInitTimeoutMs: 3_000,
  maxPayloadBytes: 64 * 1024,
};

export interface RedisClusterNode {
  host: string;
  port: number;
}

export interface SqliteDatabaseConfig {
  dialect: 'sqlite';
  file: string;
}

export interface PostgresDatabaseConfig {
  dialect: 'postgres';
  url: string;
  /** Most connections this instance's pool opens (DATABASE_POOL_SIZE). @default 10 */
  poolSize?: number;
}

/** Connections per instance unless DATABASE_POOL_SIZE says otherwise: ten instances take 100, PostgreSQL's default max_connections. */
export const DEFAULT_POOL_SIZE = 10;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const MIN_SECRET_BYTES = 32;
export const MIN_ADMIN_TOKEN_LENGTH = 32;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Parses the environment; throws one ConfigError that lists every problem at once. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    // Plain decimal digits only: Number() would also take "1e3" and "0x50" and listen somewhere unexpected.
    const value = /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  };

  const dataDir = resolve(text('DATA_DIR') ?? 'data');
  const databaseUrl = text('DATABASE_URL');
  let database: Config['database'] = { dialect: 'sqlite', file: resolve(dataDir, 'chat.db') };
  if (databaseUrl !== undefined) {
    if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
      database = { dialect: 'postgres', url: databaseUrl, poolSize: integer('DATABASE_POOL_SIZE', DEFAULT_POOL_SIZE, 1, 1000) };
      if (!URL.canParse(databaseUrl)) problems.push('DATABASE_URL is not a valid URL (postgres://user:password@host:port/database)');
    }
    else if (databaseUrl.startsWith('sqlite:')) database = { dialect: 'sqlite', file: resolve(databaseUrl.slice('sqlite:'.length)) };
    else problems.push('DATABASE_URL must start with postgres:// (or sqlite:<path>); unset it to use SQLite in DATA_DIR');
  }
  if (database.dialect === 'sqlite' && text('DATABASE_POOL_SIZE') !== undefined) problems.push('DATABASE_POOL_SIZE is for PostgreSQL (DATABASE_URL=postgres://…); SQLite has one connection');

  const redisUrl = text('REDIS_URL') ?? null;
  if (redisUrl !== null && !/^rediss?:\/\//.test(redisUrl)) problems.push('REDIS_URL must start with redis:// or rediss://');
  else if (redisUrl !== null && !URL.canParse(redisUrl)) problems.push('REDIS_URL is not a valid URL (redis://[:password@]host:port[/db])');
  const clusterNodes = text('REDIS_CLUSTER_NODES');
  const redisClusterNodes = clusterNodes === undefined ? null : parseClusterNodes(clusterNodes, problems);
  if (redisUrl !== null && clusterNodes !== undefined) problems.push('REDIS_URL and REDIS_CLUSTER_NODES are both set: set REDIS_URL for one Redis or REDIS_CLUSTER_NODES for a Redis Cluster, not both');

  const jwtSecret = text('JWT_SECRET') ?? null;
  if (jwtSecret !== null && Buffer.byteLength(jwtSecret) < MIN_SECRET_BYTES) {
    problems.push(`JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes (got ${Buffer.byteLength(jwtSecret)}); unset it to generate one`);
  }

  const origins = text('ALLOWED_ORIGINS');
  let allowedOrigins: string[] | null = null;
  if (origins !== undefined && origins !== '*') {
    allowedOrigins = origins.split(',').map((o) => o.trim()).filter(Boolean);
    for (const origin of allowedOrigins) {
      if (!/^https?:\/\/[^/\s]+$/.test(origin)) problems.push(`ALLOWED_ORIGINS entry "${origin}" must look like https://host[:port], without a path`);
    }
  }

  const adminToken = text('ADMIN_TOKEN') ?? null;
  // Sent as "Authorization: Bearer <token>": a header value, so printable ASCII without spaces.
  if (adminToken !== null && (adminToken.length < MIN_ADMIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(adminToken))) {
    problems.push(`ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} printable ASCII characters without spaces (got ${adminToken.length} characters); unset it to disable operator access`);
  }

  const blocklistFile = text('BLOCKLIST_FILE');
  const blocklist = blocklistFile === undefined ? null : readBlocklist(resolve(blocklistFile), problems);

  const logLevel = (text('LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);

  const config: Config = {
    port: integer('PORT', 4000, 0, 65535),
    host: text('HOST') ?? '0.0.0.0',
    database,
    redisUrl,
    redisClusterNodes,
    jwtSecret,
    dataDir,
    tokenTtlSeconds: integer('TOKEN_TTL_SECONDS', 7 * 24 * 3600, 60, 365 * 24 * 3600),
    allowedOrigins,
    logLevel,
    presenceTtlSeconds: integer('PRESENCE_TTL_SECONDS', 30, 2, 3600),
    adminToken,
    blocklist,
    rateLimits: parseRateLimits(text, problems),
    trustProxy: parseTrustProxy(text, problems),
    operations: parseOperations(text, problems),
    queryLimits: readQueryLimits({ text, integer, problems }),
    websocket: DEFAULT_WEBSOCKET_CONFIG,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * REDIS_CLUSTER_NODES: comma-separated host:port seed nodes ([v6]:port for IPv6);
 * the client learns the rest of the cluster from any one of them.
 */
function parseClusterNodes(raw: string, problems: string[]): RedisClusterNode[] | null {
  const nodes: RedisClusterNode[] = [];
  for (const entry of raw.split(',').map((e) => e.trim())) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(entry);
    const port = match ? Number(match[2]) : NaN;
    if (!match || port < 1 || port > 65535) {
      problems.push(`REDIS_CLUSTER_NODES entry "${entry}" must look like host:port (port 1 to 65535), e.g. 10.0.0.1:7000,10.0.0.2:7000`);
      continue;
    }
    nodes.push({ host: match[1]!.replace(/^\[|\]$/g, ''), port });
  }
  return nodes.length > 0 && nodes.length === raw.split(',').length ? nodes : null;
}

/**
 * BLOCKLIST_FILE: one word or phrase per line; blank lines and lines starting
 * with # are skipped. A file that cannot be read is a problem at start, not a
 * blocklist silently left empty.
 */
function readBlocklist(file: string, problems: string[]): string[] | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    problems.push(`BLOCKLIST_FILE "${file}" cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return null;
  }
  const entries: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    // Entries match on whole words; one without a letter or digit could never match anything.
    if (!/[\p{L}\p{N}]/u.test(line)) problems.push(`BLOCKLIST_FILE line ${index + 1} has no letter or digit: "${line.slice(0, 64)}"`);
    else entries.push(line);
  });
  return entries;
}
