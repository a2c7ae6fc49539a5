import { join } from 'node:path';
import type { BenchChild } from './children.js';
import { watched } from './host-cpu.js';
import type { HttpJob, HttpResult } from './load-http.js';
import { HISTORY_ROOM_ID, seedHistory } from './seed-history.js';
import { profiled, startChatServer, type BenchContext, type RunningServer } from './servers.js';

export interface HistoryResult {
  messages: number;
  seedMs: number;
  /** `{ __typename }` on the same server: the ceiling. */
  typename: HttpResult;
  page: HttpResult;
}

/** A page of 50 from the middle of a room with many stored messages, beside `{ __typename }`. */
export async function runHistory(ctx: BenchContext): Promise<HistoryResult> {
  const file = join(ctx.workDir, 'history.db');
  ctx.log(`history: seeding ${ctx.plan.history.messages.toLocaleString('en-US')} messages`);
  const seedStarted = performance.now();
  await seedHistory(file, ctx.plan.history.messages);
  const seedMs = performance.now() - seedStarted;
  const load = ctx.children.spawn('http load (history)', 'load-http.ts', 'load');
  let server: RunningServer | null = null;
  try {
    server = await startChatServer(ctx, 'history', { database: { dialect: 'sqlite', file } });
    return { ...(await measure(ctx, server, load)), seedMs };
  } finally {
    await load.kill();
    await server?.stop();
  }
}

async function measure(ctx: BenchContext, server: RunningServer, load: BenchChild): Promise<Omit<HistoryResult, 'seedMs'>> {
  const { messages, concurrency, warmUpMs, durationMs } = ctx.plan.history;
  const timeout = warmUpMs + durationMs + 30_000;
  const run = (operation: HttpJob['operation'], title: string) => {
    ctx.log(`history: ${title}`);
    const job: HttpJob = { url: server.url, operation, roomId: HISTORY_ROOM_ID, historySize: messages, concurrency, warmUpMs, durationMs };
    return profiled(ctx, server, `chat server, history ${title}`, () => watched(server.child, ctx.quiet, () => load.call<HttpResult>('run', job, timeout)));
  };
  const typename = await run('typename', '{ __typename }');
  const page = await run('history', 'messages(last: 50, before: <middle>)');
  return { messages, typename, page };
}
