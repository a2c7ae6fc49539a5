import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

/** Structured JSON logs on stdout. Tokens are never logged: redact the places they could appear. */
export function createLogger(level: LogLevel): Logger {
  return pino({
    level,
    redact: ['req.headers.authorization', 'connectionParams', 'token', 'previousToken'],
  });
}

/** For expected outages (Redis away): log the cause in one line, without a stack. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
