import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from './config.js';
import { StartupFailure } from './startup-failure.js';

/**
 * What operators set for running the server rather than for the chat
 * (METRICS_TOKEN, ACCESS_LOG, DATABASE_START_WAIT_SECONDS), parsed for
 * src/config.ts, and the check that the folders it writes to are usable.
 */
export interface OperationsConfig {
  /** The bearer GET /metrics asks for (METRICS_TOKEN); null: /metrics is open to anyone who reaches the port. */
  metricsToken: string | null;
  /** One JSON line per HTTP request and per WebSocket connection end (ACCESS_LOG=on|off). @default true */
  accessLog: boolean;
  /** How long start-up retries a PostgreSQL server that does not answer before it gives up. @default 30000 */
  databaseStartWaitMs: number;
}

export const MIN_METRICS_TOKEN_LENGTH = 32;

export const DEFAULT_OPERATIONS: OperationsConfig = { metricsToken: null, accessLog: true, databaseStartWaitMs: 30_000 };

type Text = (name: string) => string | undefined;

export function parseOperations(text: Text, problems: string[]): OperationsConfig {
  const metricsToken = text('METRICS_TOKEN') ?? null;
  // Sent as "Authorization: Bearer <token>" by the scraper: a header value.
  if (metricsToken !== null && (metricsToken.length < MIN_METRICS_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(metricsToken))) {
    problems.push(`METRICS_TOKEN must be at least ${MIN_METRICS_TOKEN_LENGTH} printable ASCII characters without spaces (got ${metricsToken.length} characters); unset it to leave /metrics open`);
  }
  const accessLog = text('ACCESS_LOG')?.toLowerCase() ?? 'on';
  if (accessLog !== 'on' && accessLog !== 'off') problems.push(`ACCESS_LOG must be on or off, got "${accessLog}"`);
  const wait = text('DATABASE_START_WAIT_SECONDS');
  let databaseStartWaitMs = DEFAULT_OPERATIONS.databaseStartWaitMs;
  if (wait !== undefined) {
    if (/^\d{1,4}$/.test(wait) && Number(wait) <= 3600) databaseStartWaitMs = Number(wait) * 1000;
    else problems.push(`DATABASE_START_WAIT_SECONDS must be an integer from 0 to 3600, got "${wait}"`);
  }
  return { metricsToken, accessLog: accessLog !== 'off', databaseStartWaitMs };
}

/**
 * The folders the server writes to, checked first thing at start (so that a
 * typo is one clear line, not SQLite's "unable to open database file"): the
 * SQLite database's, and DATA_DIR when a secret is to be generated there.
 */
export function checkDataFolders(config: Pick<Config, 'database' | 'dataDir' | 'jwtSecret'>): void {
  const problems: string[] = [];
  const sqliteDir = config.database.dialect === 'sqlite' ? dirname(config.database.file) : null;
  if (sqliteDir !== null) checkWritableDir(sqliteDir === config.dataDir ? 'DATA_DIR' : 'the folder of DATABASE_URL', sqliteDir, problems);
  if (config.jwtSecret === null && sqliteDir !== config.dataDir && !existsSync(join(config.dataDir, 'jwt-secret'))) checkWritableDir('DATA_DIR', config.dataDir, problems);
  if (problems.length > 0) throw new StartupFailure(problems.join('; '), { problems });
}

/** A folder files will be created in: a writable directory, or one that does not exist yet under one that is. */
function checkWritableDir(name: string, dir: string, problems: string[]): void {
  let existing = dir;
  for (;;) {
    try {
      if (!statSync(existing).isDirectory()) {
        problems.push(existing === dir ? `${name} "${dir}" is not a directory` : `${name} "${dir}" cannot be created: "${existing}" is not a directory`);
        return;
      }
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        problems.push(`${name} "${dir}" cannot be used (${code ?? 'error'})`);
        return;
      }
      const parent = dirname(existing);
      if (parent === existing) return;
      existing = parent;
    }
  }
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch {
    problems.push(existing === dir ? `${name} "${dir}" is not writable` : `${name} "${dir}" cannot be created: "${existing}" is not writable`);
  }
}
