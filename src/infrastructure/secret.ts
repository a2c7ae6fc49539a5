import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIN_SECRET_BYTES, type Config } from '../config.js';
import type { Logger } from '../logger.js';

/**
 * JWT_SECRET when set. Otherwise a random secret made at first start and kept in
 * the data folder (0600), so tokens survive a restart of a single-instance server.
 * Several instances must share JWT_SECRET instead: each would make its own.
 */
export function resolveJwtSecret(config: Config, logger: Logger): string {
  if (config.jwtSecret) return config.jwtSecret;
  const file = join(config.dataDir, 'jwt-secret');
  try {
    const kept = readFileSync(file, 'utf8').trim();
    if (Buffer.byteLength(kept) >= MIN_SECRET_BYTES) {
      logger.warn({ file }, 'JWT_SECRET is not set: using the secret generated at first start');
      return kept;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(48).toString('base64url');
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  logger.warn({ file }, 'JWT_SECRET is not set: generated a random secret and kept it; set JWT_SECRET when running several instances');
  return secret;
}
