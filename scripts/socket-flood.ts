/**
 * What one flooding socket costs everyone else: a bystander's p99 before and
 * during a flood, with the per-socket budgets on (RATE_LIMITS defaults) and off.
 *
 *   npx tsx scripts/socket-flood.ts [--flood=subscribes,churn,pings] [--count=10000] [--modes=off,on]
 *
 * The server is the real entry point in a process of its own (SQLite); the
 * flooder is another process, so its writing does not stall the bystander's
 * clock. A steady sender posts a message every 20 ms into the lobby; the
 * bystander's latency is from each send to its arrival on a graphql-ws socket.
 * Figures on a shared 2-core machine are noisy: compare runs, not digits.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RATE_LIMITS, type RateLimitsConfig } from '../src/transports/budgets/budgets.config.js';
import { issueToken, lobbyId } from '../test/helpers/chat.js';
import { spawnServer, terminate } from '../test/helpers/processes.js';
import { rawConnection } from '../test/helpers/realtime.js';
import { testConfig } from '../test/helpers/server.js';
import { flood, floodFrames, percentile, steadySender, type Flood } from '../test/helpers/socket-flood.js';
import { subscribe, wsClient } from '../test/helpers/ws.js';

const args = new Map(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=') as [string, string]));

if (args.has('flooder')) {
  // The flooding process: one socket, every frame at once, then report how it was closed.
  const raw = await rawConnection(args.get('ws')!, { authorization: `Bearer ${args.get('token')}` });
  const frames = floodFrames(args.get('flooder') as Flood, Number(args.get('count')), args.get('room')!);
  // Started and connected ahead of time (tsx's start-up is CPU the flood window must not see); floods on "go".
  console.log('ready');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  const closed = await flood(raw, frames, 8_000);
  console.log(JSON.stringify({ closed }));
  raw.socket.terminate();
  process.exit(0);
}

const floods = (args.get('flood') ?? 'subscribes,churn,pings').split(',') as Flood[];
const modes = (args.get('modes') ?? 'off,on').split(',') as ('off' | 'on')[];
const count = Number(args.get('count') ?? 10_000);
const WINDOW_MS = 4_000;
const INTERVAL_MS = 20;

/** The defaults, except the steady sender's own send budgets (it sends 50 a second on purpose). */
const measuredLimits: RateLimitsConfig = {
  ...DEFAULT_RATE_LIMITS,
  ...(args.has('ws-messages') ? { messagesPerSocket: { perSecond: Number(args.get('ws-messages')!.split(',')[0]), burst: Number(args.get('ws-messages')!.split(',')[1]) } } : {}),
  operations: { ...DEFAULT_RATE_LIMITS.operations, sendMessageUser: { perSecond: 1000, burst: 1000 }, sendMessageRoom: { perSecond: 1000, burst: 1000 } },
};

/** The flooding process, connected and waiting: go() floods and resolves with what it printed after. */
async function startFlooder(wsUrl: string, token: string, roomId: string, kind: Flood): Promise<{ go(): Promise<string> }> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--import', 'tsx', script, `--flooder=${kind}`, `--ws=${wsUrl}`, `--token=${token}`, `--room=${roomId}`, `--count=${count}`], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise<void>((resolve) =>
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('ready')) resolve();
    }),
  );
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  await ready;
  return {
    async go() {
      child.stdin.write('go\n');
      await exited;
      return out.replace('ready', '').trim();
    },
  };
}

const rows: string[] = [];
for (const mode of modes) {
  for (const kind of floods) {
    const config = testConfig({ rateLimits: mode === 'on' ? measuredLimits : null, logLevel: 'error' });
    const server = await spawnServer(config);
    try {
      const [bystander, sender, flooder] = [await issueToken(server.url), await issueToken(server.url), await issueToken(server.url)];
      const lobby = await lobbyId(server.url);
      const client = wsClient(server.wsUrl, { authorization: `Bearer ${bystander.token}` });
      const arrivedAt = new Map<string, number>();
      const feed = subscribe<{ messageAdded: { body: string } }>(client, 'subscription($r: ID!) { messageAdded(roomId: $r) { body } }', { r: lobby });
      const watch = setInterval(() => {
        for (const event of feed.received.splice(0)) arrivedAt.set(event.messageAdded.body, performance.now());
      }, 1);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const flooderProcess = await startFlooder(server.wsUrl, flooder.token, lobby, kind);
      const steady = steadySender(server.url, sender.token, lobby, INTERVAL_MS);
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // warm-up, not measured
      const baselineFrom = performance.now();
      await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
      const floodFrom = performance.now();
      const flooding = flooderProcess.go();
      await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
      const floodTo = performance.now();
      await steady.stop();
      const outcome = await flooding;
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // the last deliveries
      clearInterval(watch);
      for (const event of feed.received.splice(0)) arrivedAt.set(event.messageAdded.body, performance.now());

      const latencies = (from: number, to: number) =>
        [...steady.sentAt].filter(([, at]) => at >= from && at < to).map(([body, at]) => (arrivedAt.get(body) ?? Infinity) - at);
      const before = latencies(baselineFrom, floodFrom);
      const during = latencies(floodFrom, floodTo);
      const lost = [...steady.sentAt.keys()].filter((body) => !arrivedAt.has(body)).length;
      const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'lost');
      rows.push(
        `| ${mode} | ${kind} ×${count} | ${f(percentile(before, 50))} / ${f(percentile(before, 99))} | ${f(percentile(during, 50))} / ${f(percentile(during, 99))} | ${(percentile(during, 99) / percentile(before, 99)).toFixed(2)}x | ${lost} | ${steady.errors.length} | ${JSON.parse(outcome || '{}').closed ? `${JSON.parse(outcome).closed.code} ${JSON.parse(outcome).closed.reason}` : 'not closed'} |`,
      );
      console.log(rows.at(-1));
      await client.dispose();
    } finally {
      await terminate(server);
      rmSync(config.dataDir, { recursive: true, force: true });
    }
  }
}
console.log('\n| RATE_LIMITS | flood (one socket) | bystander p50 / p99 before (ms) | p50 / p99 during (ms) | p99 during / before | lost | send errors | flooding socket |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const row of rows) console.log(row);
