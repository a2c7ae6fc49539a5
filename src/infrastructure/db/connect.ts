import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Config } from '../../config.js';

/** Opens the configured database, typed by the caller's schema. Migrations are run separately (migrate.ts). */
export function connectDatabase<DB>(config: Config['database']): Kysely<DB> {
  if (config.dialect === 'postgres') {
    const pool = new pg.Pool({ connectionString: config.url, max: 10 });
    // An idle client that errors (server restart) must not crash the process: the pool replaces it.
    pool.on('error', () => {});
    return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  }
  mkdirSync(dirname(config.file), { recursive: true });
  const sqlite = new SQLite(config.file);
  // WAL lets readers proceed during a write; a short busy timeout absorbs a second process's write.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 2000');
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
