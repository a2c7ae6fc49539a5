import type { App } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { StartupFailure } from './startup-failure.js';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    // LOG_LEVEL may be what is wrong: this one line is always written.
    return failStart(createLogger('info'), error);
  }
  const logger = createLogger(config.logLevel);
  let app: App;
  try {
    // Imported here, so that even a module that fails to load is reported on the one fatal line.
    const { buildApp } = await import('./app.js');
    app = await buildApp(config, logger);
    await app.start();
  } catch (error) {
    return failStart(logger, error, config);
  }

  const shutdown = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'stopping');
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  process.on('unhandledRejection', (error) => logger.error({ err: error }, 'unhandled rejection'));
}

/**
 * Every way start-up fails ends here: one JSON line at fatal level that says
 * what to fix, then exit code 1 (pino writes to stdout synchronously, so the
 * line is out before the process is).
 */
function failStart(logger: Logger, error: unknown, config?: Config): never {
  const { message, fields } = describeFailure(error, config);
  logger.fatal(fields, message);
  process.exit(1);
}

function describeFailure(error: unknown, config?: Config): { message: string; fields: Record<string, unknown> } {
  if (error instanceof ConfigError) return { message: `invalid configuration: ${error.problems.join('; ')}`, fields: { problems: error.problems } };
  if (error instanceof StartupFailure) return { message: `start-up failed: ${error.message}`, fields: error.details };
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const where = config ? `${config.host}:${config.port}` : 'the port';
  if ((error as NodeJS.ErrnoException | null)?.syscall === 'listen') {
    if (code === 'EADDRINUSE') return { message: `start-up failed: ${where} is already in use (another server on PORT?)`, fields: { code } };
    if (code === 'EACCES') return { message: `start-up failed: not allowed to listen on ${where} (ports below 1024 need privileges)`, fields: { code } };
    if (code === 'EADDRNOTAVAIL') return { message: `start-up failed: HOST ${config?.host ?? ''} is not an address of this machine`, fields: { code } };
  }
  // Unforeseen: the whole error (its stack too) for whoever reads the line.
  return { message: `start-up failed: ${error instanceof Error ? error.message : String(error)}`, fields: { err: error } };
}

void main();
