import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { DEFAULT_POOL_SIZE, type Config } from '../../config.js';

/** A PostgreSQL pool's connections now (for the metrics). */
export interface PoolUse {
  total: number;
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
}

const pools = new WeakMap<Kysely<any>, pg.Pool>();

/** The pool under a PostgreSQL database opened here; null for SQLite (one connection, no pool). */
export function poolUse(db: Kysely<any>): PoolUse | null {
  const pool = pools.get(db);
  return pool ? { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } : null;
}

/** How long a statement waits for a PostgreSQL lock, and runs at most, before it fails as busy. */
const LOCK_WAIT_MS = 2_000;
const STATEMENT_TIMEOUT_MS = 10_000;
/** How long a query waits for one of the pool's connections. */
const CONNECTION_WAIT_MS = 5_000;
/** How long SQLite waits for another connection's write lock (blocking the event loop meanwhile). */
const SQLITE_BUSY_WAIT_MS = 100;

/** Opens the configured database, typed by the caller's schema. Migrations are run separately (migrate.ts). */
export function connectDatabase<DB>(config: Config['database']): Kysely<DB> {
  if (config.dialect === 'postgres') {
    const pool = new pg.Pool({
      connectionString: config.url,
      max: config.poolSize ?? DEFAULT_POOL_SIZE,
      // Bounded waits: a table lock or a full pool becomes an error a client can retry (db/busy.ts),
      // not a request that hangs for as long as someone else holds on.
      lock_timeout: LOCK_WAIT_MS,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      connectionTimeoutMillis: CONNECTION_WAIT_MS,
    });
    // An idle client that errors (server restart) must not crash the process: the pool replaces it.
    pool.on('error', () => {});
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    pools.set(db, pool);
    return db;
  }
  mkdirSync(dirname(config.file), { recursive: true });
  const sqlite = new SQLite(config.file);
  // WAL lets readers proceed during a write; a short busy timeout absorbs a second process's brief
  // write. Short, because better-sqlite3 waits synchronously: the whole event loop waits with it.
  // A longer lock is an error the client retries (db/busy.ts).
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma(`busy_timeout = ${SQLITE_BUSY_WAIT_MS}`);
  sqlite.pragma('foreign_keys = ON');
  return new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
}

/** Enough for every statement the app makes, and each batch size of the group-commit insert. */
const STATEMENT_CACHE_SIZE = 512;

/**
 * kysely's SQLite driver prepares every query again; preparing is a good part of
 * a small query's cost. The app's SQL is a small fixed set (values are always
 * parameters), so prepared statements are kept by their text and reused.
 */
function withStatementCache(sqlite: SQLite.Database): SQLite.Database {
  const prepare = sqlite.prepare.bind(sqlite);
  const cache = new Map<string, SQLite.Statement>();
  sqlite.prepare = ((source: string) => {
    let statement = cache.get(source);
    if (!statement) {
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.clear();
      cache.set(source, (statement = prepare(source)));
    }
    return statement;
  }) as SQLite.Database['prepare'];
  return sqlite;
}
