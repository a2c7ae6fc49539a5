import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Child, freePort, killSpawned } from './helpers/processes.js';
import { createTestDatabase, dialect, TEST_SECRET } from './helpers/server.js';
import { until, within } from './helpers/wait.js';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const folders: string[] = [];

/** A fresh data folder for one start. */
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chat-startup-'));
  folders.push(dir);
  return dir;
}

interface Outcome {
  code: number | null;
  /** Every stdout line, parsed: each must be JSON. */
  lines: Record<string, any>[];
  stderr: string[];
  fatal: Record<string, any>[];
}

/** `npm start`'s entry point with exactly `env` (plus PATH and HOME); resolves once it has exited. */
async function start(env: Record<string, string>): Promise<Outcome> {
  const child = new Child(
    'main.ts',
    spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const exit = await within(child.exited, 45_000, 'the server to give up and exit');
  const lines = child.stdout.filter((line) => line.trim() !== '').map((line) => {
    try {
      return JSON.parse(line) as Record<string, any>;
    } catch {
      throw new Error(`a stdout line is not JSON: ${line}`);
    }
  });
  return { code: exit.code, lines, stderr: child.stderr, fatal: lines.filter((line) => line.level === 60) };
}

/** Exit 1 after exactly one fatal line, the last thing it printed; nothing on stderr. */
function expectOneFatal(outcome: Outcome, message: RegExp): Record<string, any> {
  expect(outcome.stderr.filter((line) => line.trim() !== ''), 'stderr').toEqual([]);
  expect(outcome.fatal, JSON.stringify(outcome.lines)).toHaveLength(1);
  expect(outcome.lines.at(-1)).toBe(outcome.fatal[0]);
  expect(outcome.fatal[0]!.msg).toMatch(message);
  expect(outcome.code).toBe(1);
  return outcome.fatal[0]!;
}

describe('start-up failures: one fatal JSON line, exit 1', () => {
  afterAll(async () => {
    await killSpawned();
    for (const dir of folders) rmSync(dir, { recursive: true, force: true });
  });

  it('bad configuration: every problem in the one line', { timeout: 60_000 }, async () => {
    const outcome = await start({ PORT: 'eighty', JWT_SECRET: 'short', REDIS_URL: 'redis://exa mple:6379', DATA_DIR: dataDir() });
    const fatal = expectOneFatal(outcome, /^invalid configuration: /);
    expect(fatal.problems).toEqual([
      expect.stringMatching(/^REDIS_URL is not a valid URL/),
      expect.stringMatching(/^JWT_SECRET must be at least 32 bytes/),
      expect.stringMatching(/^PORT must be an integer/),
    ]);
    // Nothing else was started or printed.
    expect(outcome.lines).toHaveLength(1);
  });

  it('a bad LOG_LEVEL still gets its line', { timeout: 60_000 }, async () => {
    expectOneFatal(await start({ LOG_LEVEL: 'loud', DATA_DIR: dataDir() }), /LOG_LEVEL must be one of/);
  });

  it('the port is in use', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      const fatal = expectOneFatal(await start({ PORT: String(port), JWT_SECRET: TEST_SECRET, DATA_DIR: dataDir() }), new RegExp(`127\\.0\\.0\\.1:${port} is already in use`));
      expect(fatal.code).toBe('EADDRINUSE');
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  it('DATA_DIR is a file, or under one', { timeout: 60_000 }, async () => {
    const file = join(dataDir(), 'not-a-folder');
    writeFileSync(file, 'x');
    expectOneFatal(await start({ PORT: '0', DATA_DIR: file }), /^start-up failed: DATA_DIR ".*not-a-folder" is not a directory/);
    expectOneFatal(await start({ PORT: '0', DATA_DIR: join(file, 'data') }), /^start-up failed: DATA_DIR ".*not-a-folder\/data" cannot be created: ".*not-a-folder" is not a directory/);
  });

  // Root writes anywhere (CI runs as root): there, a read-only folder is not one.
  it.skipIf(process.getuid?.() === 0)('DATA_DIR is not writable', { timeout: 60_000 }, async () => {
    const dir = join(dataDir(), 'read-only');
    mkdirSync(dir);
    chmodSync(dir, 0o500);
    expectOneFatal(await start({ PORT: '0', DATA_DIR: dir }), /^start-up failed: DATA_DIR ".*read-only" is not writable/);
  });

  it('PostgreSQL does not answer: retried with a line per attempt for DATABASE_START_WAIT_SECONDS, then fatal', { timeout: 60_000 }, async () => {
    // A loopback port nobody listens on.
    const port = await freePort();
    const started = Date.now();
    const outcome = await start({
      PORT: '0',
      DATABASE_URL: `postgres://postgres:pg-password-c41d@127.0.0.1:${port}/test`,
      DATABASE_START_WAIT_SECONDS: '2',
      JWT_SECRET: TEST_SECRET,
      DATA_DIR: dataDir(),
    });
    const fatal = expectOneFatal(outcome, new RegExp(`^start-up failed: database unreachable after \\d+ attempts in 2 s: .*ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
    const retries = outcome.lines.filter((line) => line.msg === 'database unreachable; retrying');
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries.map((line) => line.attempt)).toEqual(retries.map((_, i) => i + 1));
    expect(retries.every((line) => line.level === 40 && /ECONNREFUSED/.test(line.error))).toBe(true);
    expect(fatal.attempts).toBe(retries.length + 1);
    // Bounded: about the window (plus the start of the process), not forever.
    expect(Date.now() - started).toBeLessThan(30_000);
    // The URL's password is in no line.
    expect(JSON.stringify(outcome.lines)).not.toContain('pg-password-c41d');
  });

  it.skipIf(dialect !== 'postgres')('PostgreSQL that comes up within the window: the server starts and serves', { timeout: 60_000 }, async () => {
    const database = await createTestDatabase();
    const url = new URL(database.database.dialect === 'postgres' ? database.database.url : '');
    const target = Number(url.port || 5432);
    const port = await freePort();
    url.port = String(port);
    const httpPort = await freePort();
    const child = new Child(
      'main.ts (late postgres)',
      spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        cwd: projectRoot,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: String(httpPort), DATABASE_URL: url.toString(), DATABASE_START_WAIT_SECONDS: '30', JWT_SECRET: TEST_SECRET, DATA_DIR: dataDir() },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    // PostgreSQL "starts" once the server has tried twice: a forwarder to the real one on the port it tries.
    const forwarder = net.createServer((socket) => {
      const upstream = net.connect(target, url.hostname);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    try {
      await child.waitForLine((line) => line.includes('"attempt":2') && line.includes('database unreachable; retrying'), 30_000, 'a second failed attempt');
      await new Promise<void>((resolve) => forwarder.listen(port, '127.0.0.1', resolve));
      await child.waitForLine((line) => line.includes('chat server listening'), 30_000, 'the server to start');
      expect(child.stdout.some((line) => line.includes('"msg":"database reachable"'))).toBe(true);
      expect(child.stdout.filter((line) => /"level":(50|60)/.test(line))).toEqual([]);
      await until(async () => (await fetch(`http://127.0.0.1:${httpPort}/health`)).status === 200, 10_000, '/health 200');
    } finally {
      await child.kill('SIGTERM');
      await new Promise<void>((resolve) => forwarder.close(() => resolve()));
      await database.drop();
    }
  });

  it('a bad DATABASE_START_WAIT_SECONDS or METRICS_TOKEN is a configuration problem', { timeout: 60_000 }, async () => {
    const fatal = expectOneFatal(await start({ DATABASE_START_WAIT_SECONDS: '-1', METRICS_TOKEN: 'short', ACCESS_LOG: 'maybe', DATA_DIR: dataDir() }), /^invalid configuration: /);
    expect(fatal.problems).toEqual([
      expect.stringMatching(/^METRICS_TOKEN must be at least 32/),
      expect.stringMatching(/^ACCESS_LOG must be on or off/),
      expect.stringMatching(/^DATABASE_START_WAIT_SECONDS must be an integer from 0 to 3600/),
    ]);
    expect(fatal.msg).not.toContain('short');
  });
});
