import type { Config } from '../src/config.js';
import { LOBBY_ID } from '../src/infrastructure/db/migrations/2026_11_23_0001_initial.js';
import type { BenchChild } from './children.js';
import { watched } from './host-cpu.js';
import type { HttpJob, HttpResult } from './load-http.js';
import { createFreshDatabase, postgresAdminUrl } from './postgres.js';
import { profiled, startChatServer, type BenchContext, type RunningServer } from './servers.js';
import { issueTokens } from './setup.js';

export interface IngestResult {
  dialect: 'sqlite' | 'postgres';
  /** `mutation { __typename }`: the same HTTP/GraphQL pipeline without storage, the ceiling. */
  noop: HttpResult;
  sendMessage: HttpResult;
}

/**
 * sendMessage over HTTP from `concurrency` clients (one user each) into the
 * lobby, beside the no-op mutation on the same server. PostgreSQL gets a fresh
 * database that is dropped afterwards (also on failure, through `onCleanup`).
 */
export async function runIngest(ctx: BenchContext, dialect: 'sqlite' | 'postgres', onCleanup: (cleanup: () => Promise<void>) => void): Promise<IngestResult> {
  let database: Config['database'] | undefined;
  let drop: (() => Promise<void>) | null = null;
  if (dialect === 'postgres') {
    const fresh = await createFreshDatabase(postgresAdminUrl());
    drop = fresh.drop;
    onCleanup(fresh.drop);
    database = { dialect: 'postgres', url: fresh.url };
  }
  const load = ctx.children.spawn(`http load (ingest ${dialect})`, 'load-http.ts', 'load');
  let server: RunningServer | null = null;
  try {
    server = await startChatServer(ctx, `ingest ${dialect}`, { database });
    return await measure(ctx, dialect, server, load);
  } finally {
    await load.kill();
    await server?.stop();
    await drop?.();
  }
}

async function measure(ctx: BenchContext, dialect: IngestResult['dialect'], server: RunningServer, load: BenchChild): Promise<IngestResult> {
  const { concurrency, warmUpMs, durationMs } = ctx.plan.ingest;
  const tokens = await issueTokens(server.url, concurrency);
  const timeout = warmUpMs + durationMs + 30_000;
  const run = (operation: HttpJob['operation'], title: string) => {
    ctx.log(`ingest ${dialect}: ${title}, ${concurrency} clients`);
    const job: HttpJob = { url: server.url, operation, tokens, roomId: LOBBY_ID, concurrency, warmUpMs, durationMs };
    return profiled(ctx, server, `chat server, ingest ${title} on ${dialect}`, () =>
      watched(server.child, ctx.quiet, () => load.call<HttpResult>('run', job, timeout)),
    );
  };
  const noop = await run('noopMutation', 'no-op mutation');
  const sendMessage = await run('sendMessage', 'sendMessage');
  return { dialect, noop, sendMessage };
}
