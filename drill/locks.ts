import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { summarize } from '../bench/stats.js';
import { freshPostgres, issueSessions, LOBBY_ID, ownRedis, scoped, sleep, startLoad, startServer, warningsRow, watchMachine, type DrillContext } from './context.js';
import type { SendReport } from './sender.js';
import { checkStorage, storedMessages } from './storage.js';
import { count, ms } from './table.js';

const BEFORE_MS = 2_000;
const AFTER_MS = 3_000;
/** A send may wait out the lock, plus this. */
const WAIT_SLACK_MS = 2_000;

interface Lock {
  what: string;
  /** Takes the lock and resolves once it is held; the returned function releases it. */
  take(): Promise<() => Promise<void>>;
}

/** Another process's writer: BEGIN IMMEDIATE on the server's own SQLite file. */
function sqliteWriterLock(file: string): Lock {
  return {
    what: 'SQLite BEGIN IMMEDIATE',
    take: async () => {
      const db = new SQLite(file);
      db.pragma('busy_timeout = 10000');
      db.exec('BEGIN IMMEDIATE');
      return async () => {
        db.exec('COMMIT');
        db.close();
      };
    },
  };
}

/** A migration or an operator's maintenance: LOCK TABLE messages IN ACCESS EXCLUSIVE MODE. */
function postgresTableLock(url: string): Lock {
  return {
    what: 'PostgreSQL LOCK TABLE messages IN ACCESS EXCLUSIVE MODE',
    take: async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query('BEGIN');
      await client.query('LOCK TABLE messages IN ACCESS EXCLUSIVE MODE');
      return async () => {
        await client.query('COMMIT');
        await client.end();
      };
    },
  };
}

/**
 * A steady send load while another connection holds the write lock for a few
 * seconds, on each dialect. Sends must wait a bounded time or fail with a code
 * a client can act on; afterwards every acknowledged send is stored exactly
 * once and every failed one not at all, and a retry with the same
 * clientMessageId stores it once.
 */
export async function locksDrill(ctx: DrillContext): Promise<void> {
  // With a Redis of their own, so what a stalled event loop does to the Redis link shows too.
  const redis = await ownRedis(ctx);
  const sqliteFile = join(ctx.workDir, 'locks.db');
  await lockDrill(ctx, 'sqlite', `sqlite:${sqliteFile}`, redis.url, () => sqliteWriterLock(sqliteFile));
  const database = await freshPostgres(ctx);
  await lockDrill(ctx, 'postgres', database.url, redis.url, () => postgresTableLock(database.url));
}

async function lockDrill(ctx: DrillContext, label: string, databaseUrl: string, redisUrl: string, makeLock: () => Lock): Promise<void> {
  const { perSecond, holdMs } = ctx.plan.locks;
  const row = (figure: string, value: string, target?: string, pass?: boolean) => ctx.rows.push({ drill: `locks (${label})`, figure, value, target, pass });
  await scoped(async (defer) => {
    const server = await startServer(ctx, `locks-${label}`, { databaseUrl, redisUrl });
    defer(() => server.stop());
    const [author] = await issueSessions(server.url, 1);
    const fromSeq = (await storedMessages(databaseUrl, LOBBY_ID, 0)).at(-1)?.seq ?? 0;
    const load = startLoad(ctx, `locks-${label}`);
    defer(() => load.kill());
    await load.call('startSender', { url: server.url, session: author, roomIds: [LOBBY_ID], perSecond });
    await sleep(BEFORE_MS);

    const machine = watchMachine();
    const lock = makeLock();
    await server.resetDelay();
    const lockedAt = Date.now();
    const release = await lock.take();
    ctx.log(`locks: ${lock.what} held for ${holdMs} ms`);
    await sleep(holdMs);
    await release();
    const releasedAt = Date.now();
    const delay = await server.delay();
    const machineText = machine();
    await sleep(AFTER_MS);
    const first = await load.call<SendReport>('stopSender', undefined, 60_000);
    const failedFirst = first.failed.slice();
    const retries = await load.call<{ clientMessageId: string; outcome: string }[]>('retryFailed', undefined, 120_000);
    const report = await load.call<SendReport>('stopSender', undefined, 60_000);

    const inLock = (s: { at: number }) => s.at >= lockedAt && s.at < releasedAt;
    const during = [...first.acked, ...failedFirst].filter(inLock);
    const latency = summarize(during.map((s) => s.latencyMs));
    const codes = new Map<string, number>();
    for (const f of failedFirst) codes.set(`${f.code} "${f.message}"`, (codes.get(`${f.code} "${f.message}"`) ?? 0) + 1);
    const codeText = [...codes].map(([code, n]) => `${n}× ${code}`).join(', ') || 'none';
    const unretriable = failedFirst.filter((f) => f.code === 'INTERNAL_SERVER_ERROR' || f.code === 'UNKNOWN').length;
    const stored = await storedMessages(databaseUrl, LOBBY_ID, fromSeq + 1);
    const storage = checkStorage(stored, report.acked, report.failed);
    const retriedOk = retries.filter((r) => r.outcome === 'acked').length;

    row('lock held', `${ms(releasedAt - lockedAt)} (${lock.what})`);
    row('sends started during the lock / of them failed', `${count(during.length)} / ${count(failedFirst.filter(inLock).length)}`);
    row('send latency during the lock, p50 / max', `${ms(latency.p50)} / ${ms(latency.max)}`, `max ≤ lock + ${ms(WAIT_SLACK_MS)}`, !(latency.max > holdMs + WAIT_SLACK_MS));
    row('errors clients got', codeText.slice(0, 140), 'a code a client can retry on', unretriable === 0);
    row('server event-loop delay while locked, p99 / max', `${ms(delay.p99)} / ${ms(delay.max)}`, '≤ 200 ms', delay.max <= 200);
    row('failed sends retried later with the same clientMessageId: acknowledged', `${retriedOk} of ${retries.length}`, 'all', retriedOk === retries.length);
    row('acknowledged sends stored exactly once', `${count(storage.ackedOnce)} of ${count(storage.acked)}`, 'all', storage.ackedOnce === storage.acked);
    if (storage.ackedWrong.length > 0) row('acknowledged but stored wrong, first', storage.ackedWrong.join('; ').slice(0, 100));
    row('failed sends stored anyway', count(storage.failedButStored), '= 0', storage.failedButStored === 0);
    row('seq gaps or repeats in storage', count(storage.seqProblems), '= 0', storage.seqProblems === 0);
    row('machine while locked', machineText);
    warningsRow(ctx, `locks (${label})`, server, '');
    row('sends not started (500 in flight)', count(report.skipped), '= 0', report.skipped === 0);
    await load.call('closeSender');
  });
}
