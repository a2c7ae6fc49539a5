/**
 * What a server's JS heap holds per idle subscribed WebSocket, by kind of
 * object and by holder: the tool behind the bench's "JS heap KiB/connection"
 * figure (docs/benchmarks.md), to find what each socket keeps and who keeps it.
 *
 *   npx tsx scripts/heap-per-socket.ts [N=2000] [--bare] [--top=40] [--holders=12] [--chains=0] [--depth=4] [--keep]
 *
 * The chat server runs in this process as the bench runs it (buildApp with
 * bench/config.ts: SQLite in a temp dir, budgets off); with --bare, the bench's
 * ceiling (bench/bare-ws-server.ts) runs in a child instead, for comparison. A
 * client process opens N sockets speaking graphql-transport-ws, each with
 * connection_init (a JWT, 50 users round-robin) and one fast-path
 * `messageAdded` subscription, and the server sends messages until every
 * socket has received one (the bench's warm-up). A first round of sockets is
 * opened and closed before anything is measured, so code compiled and caches
 * filled once do not count per socket. Heap snapshots are taken after GC with
 * none of the measured sockets open and with all N; objects whose snapshot id
 * is new in the second are what the sockets added (ids are stable within one
 * process).
 *
 * Printed, per socket: bytes and count by kind (`type name` as DevTools groups
 * them); the same bytes by holder (the nearest new instance of a class of its
 * own, a Socket, a SocketSession, graphql-ws's suspended Generator…, along the
 * shortest path from a GC root), with the paths under each of the `--holders`
 * largest; and with --chains=K, for the K largest kinds, their nearest
 * `--depth` retainers. Compiled code ("(code)") and Node's native histograms
 * are fixed costs that only look per socket at small N; the bench's 19,000
 * sockets dilute them. --keep leaves the snapshots (for DevTools) in the temp dir.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';

const script = fileURLToPath(import.meta.url);
const argv = process.argv.slice(2);
const flag = (name: string, fallback: number) => Number(argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const N = Number(argv.find((a) => /^\d+$/.test(a)) ?? 2000);
const SUBSCRIBE_QUERY = 'subscription($r: ID!){ messageAdded(roomId:$r){ id seq body sender { id handle } } }';

if (argv[0] === '--client') await client(argv[1]!, Number(argv[2]), argv[3]!, argv.slice(4));
else if (!(globalThis as { gc?: unknown }).gc) {
  // Started as `npx tsx …`: again with the flags a snapshot needs (gc, and room to parse two snapshots).
  const child = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=8192', '--import', 'tsx', script, ...argv], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 1));
} else await main();

/** The server measured: where its sockets go, how a message is sent, and a snapshot of its heap. */
interface Target {
  wsUrl: string;
  roomId: string;
  tokens: string[];
  send(): Promise<void>;
  /** Writes a heap snapshot after GC to `file`; resolves with heapUsed after that GC. */
  snapshot(file: string): Promise<number>;
  stop(): Promise<void>;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'heap-per-socket-'));
  const target = argv.includes('--bare') ? await bareServer(dir) : await chatServer(dir);
  // A first round of sockets, connected, fed and closed before the first snapshot: the code V8
  // compiles for them, and what the server builds once, would otherwise count as per socket.
  await connectAll(target, Math.min(N, 500), true);
  const before = join(dir, 'before.heapsnapshot');
  const heapBefore = await target.snapshot(before);
  const child = await connectAll(target, N, false);
  const after = join(dir, 'after.heapsnapshot');
  const heapAfter = await target.snapshot(after);
  child.kill();
  await target.stop();

  console.log(argv.includes('--bare') ? 'server: bare ws (bench/bare-ws-server.ts)' : 'server: chat (buildApp(benchConfig))');
  report(parse(before), parse(after), { before: heapBefore, after: heapAfter });
  if (argv.includes('--keep')) console.log(`snapshots kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

/** The chat server in this process, as the bench configures it (bench/config.ts, SQLite). */
async function chatServer(dir: string): Promise<Target> {
  const { buildApp } = await import('../src/app.js');
  const { createLogger } = await import('../src/logger.js');
  const { LOBBY_ID } = await import('../src/infrastructure/db/migrations/2026_11_23_0001_initial.js');
  const { benchConfig } = await import('../bench/config.js');
  const { issueTokens } = await import('../bench/setup.js');
  const config = benchConfig({ dialect: 'sqlite', file: join(dir, 'chat.db') }, dir);
  const app = await buildApp(config, createLogger(config.logLevel));
  await app.start();
  // As the bench: 50 users, the sockets share them round-robin.
  const tokens = await issueTokens(app.url, 50);
  return {
    wsUrl: app.url.replace(/^http/, 'ws'),
    roomId: LOBBY_ID,
    tokens,
    send: async () => {
      const variables = { i: { roomId: LOBBY_ID, body: 'warm' } };
      const response = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[0]}` },
        body: JSON.stringify({ query: 'mutation($i: SendMessageInput!){ sendMessage(input:$i){ id } }', variables }),
      });
      const text = await response.text();
      if (text.includes('"errors"')) throw new Error(`sendMessage failed: ${text.slice(0, 300)}`);
    },
    snapshot: async (file) => {
      // Several rounds, a turn of the event loop between, so weak callbacks and finalizers settle (as bench/probes.ts).
      for (let round = 0; round < 3; round++) {
        (globalThis as unknown as { gc: () => void }).gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      const heapUsed = process.memoryUsage().heapUsed;
      writeHeapSnapshot(file);
      return heapUsed;
    },
    stop: () => app.stop(),
  };
}

/**
 * The bench's ceiling, bench/bare-ws-server.ts, in a child as the bench runs it: its snapshots are
 * written on SIGUSR2 (Node's --heapsnapshot-signal, which collects garbage first) into `dir`.
 */
async function bareServer(dir: string): Promise<Target> {
  const child = spawn(process.execPath, ['--expose-gc', `--heapsnapshot-signal=SIGUSR2`, `--diagnostic-dir=${dir}`, '--import', 'tsx', 'bench/bare-ws-server.ts'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let nextId = 0;
  const replies = new Map<number, (reply: { ok: boolean; result?: unknown; error?: string }) => void>();
  const ready = new Promise<void>((resolve) =>
    child.on('message', (message: { ready?: true; id?: number; ok: boolean; result?: unknown; error?: string }) => {
      if (message.ready) return resolve();
      replies.get(message.id!)?.(message);
    }),
  );
  const call = async <T>(cmd: string): Promise<T> => {
    const id = ++nextId;
    const reply = await new Promise<{ ok: boolean; result?: unknown; error?: string }>((resolve) => {
      replies.set(id, resolve);
      child.send({ id, cmd });
    });
    if (!reply.ok) throw new Error(reply.error);
    return reply.result as T;
  };
  await ready;
  const { url } = await call<{ url: string }>('start');
  return {
    wsUrl: url.replace(/^http/, 'ws'),
    roomId: 'lobby',
    tokens: ['none'],
    send: async () => {
      const response = await fetch(new URL('/publish', url), { method: 'POST', body: JSON.stringify({ body: 'warm' }) });
      if (response.status !== 200) throw new Error(`publish answered ${response.status}`);
    },
    snapshot: async (file) => {
      const { heapUsed } = await call<{ heapUsed: number }>('memory');
      const existing = new Set(readdirSync(dir));
      child.kill('SIGUSR2');
      // Written when the new file's size stops changing.
      for (let last = -1; ; ) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        const written = readdirSync(dir).find((name) => name.endsWith('.heapsnapshot') && !existing.has(name));
        if (!written) continue;
        const size = statSync(join(dir, written)).size;
        if (size > 0 && size === last) {
          renameSync(join(dir, written), file);
          return heapUsed;
        }
        last = size;
      }
    },
    stop: async () => {
      await call('stop').catch(() => undefined);
    },
  };
}

/** A client process with `n` sockets subscribed and live (each has received a message); closed again with `close`. */
async function connectAll(target: Target, n: number, close: boolean) {
  const child = spawn(process.execPath, ['--import', 'tsx', script, '--client', target.wsUrl, String(n), target.roomId, ...target.tokens], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = lineReader(child.stdout!);
  let closing = false;
  child.once('exit', (code) => {
    if (closing) return;
    console.error(`the client process exited (${code}) before it was done`);
    process.exit(1);
  });
  const started = performance.now();
  if ((await lines()) !== 'subscribed') throw new Error('the client failed');
  // Every subscription is live once its socket has received a message (what the bench's warm-up waits for).
  const allReceived = lines();
  for (let round = 0; ; round++) {
    await target.send();
    const answer = await Promise.race([allReceived, new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), 2_000))]);
    if (answer === 'all received') break;
    if (round > 30) throw new Error('not every socket received a message');
  }
  if (!close) {
    closing = true;
    console.log(`${n} sockets connected, subscribed and live in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return child;
  }
  closing = true;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill();
  await exited;
  // The server sees the sockets close a moment later.
  await new Promise((resolve) => setTimeout(resolve, 500));
  return child;
}

/** The client process: N sockets, then "subscribed"; "all received" once each has had a message. */
async function client(wsUrl: string, n: number, roomId: string, tokens: string[]): Promise<void> {
  const { default: WebSocket } = await import('ws');
  const subscribe = JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUBSCRIBE_QUERY, variables: { r: roomId } } });
  let received = 0;
  const open = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(wsUrl, 'graphql-transport-ws', { perMessageDeflate: false });
      let got = false;
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${tokens[i % tokens.length]}` } })));
      socket.on('message', (data: Buffer) => {
        if (data.includes('"connection_ack"')) {
          socket.send(subscribe);
          return resolve();
        }
        if (!got && data.includes('"next"')) {
          got = true;
          if (++received === n) console.log('all received');
        }
      });
      socket.on('error', reject);
      socket.on('close', (code, reason) => reject(new Error(`closed ${code} ${String(reason)}`)));
    });
  // 200 handshakes at a time, as the bench.
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(200, n) }, async () => { while (next < n) await open(next++); }));
  console.log('subscribed');
  await new Promise(() => {});
}

function lineReader(stream: NodeJS.ReadableStream): () => Promise<string> {
  const waiting: ((line: string) => void)[] = [];
  const ready: string[] = [];
  let rest = '';
  stream.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split('\n');
    rest = parts.pop()!;
    for (const line of parts) (waiting.shift() ?? ((l: string) => ready.push(l)))(line);
  });
  return () => (ready.length > 0 ? Promise.resolve(ready.shift()!) : new Promise((resolve) => waiting.push(resolve)));
}

/** The parts of a .heapsnapshot this script reads, nodes and edges as flat arrays (V8's layout). */
interface Snapshot {
  nodeFields: number;
  edgeFields: number;
  nodes: number[];
  edges: number[];
  strings: string[];
  nodeTypes: string[];
  edgeTypes: string[];
  /** Offsets of each node's fields within `nodes`, and of each edge's within `edges`. */
  at: { type: number; name: number; id: number; size: number; edgeCount: number; edgeType: number; edgeName: number; edgeTo: number };
  /** First edge index (into `edges`) of node i (by node index, not offset). */
  firstEdge: Uint32Array;
}

function parse(file: string): Snapshot {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
    nodes: number[];
    edges: number[];
    strings: string[];
  };
  const meta = raw.snapshot.meta;
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  const count = raw.nodes.length / nodeFields;
  const at = {
    type: meta.node_fields.indexOf('type'),
    name: meta.node_fields.indexOf('name'),
    id: meta.node_fields.indexOf('id'),
    size: meta.node_fields.indexOf('self_size'),
    edgeCount: meta.node_fields.indexOf('edge_count'),
    edgeType: meta.edge_fields.indexOf('type'),
    edgeName: meta.edge_fields.indexOf('name_or_index'),
    edgeTo: meta.edge_fields.indexOf('to_node'),
  };
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    firstEdge[i] = e;
    e += raw.nodes[i * nodeFields + at.edgeCount]! * edgeFields;
    firstEdge[i + 1] = e;
  }
  return { nodeFields, edgeFields, nodes: raw.nodes, edges: raw.edges, strings: raw.strings, nodeTypes: meta.node_types[0], edgeTypes: meta.edge_types[0], at, firstEdge };
}

/** DevTools' grouping: objects by constructor, closures by function name, strings and arrays by type alone. */
function kindOf(s: Snapshot, i: number): string {
  const type = s.nodeTypes[s.nodes[i * s.nodeFields + s.at.type]!]!;
  const name = s.strings[s.nodes[i * s.nodeFields + s.at.name]!]!;
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number' || type === 'bigint') return `(${type})`;
  if (type === 'code') return `(code)`;
  if (type === 'array') return `(array) ${name.slice(0, 40)}`;
  if (type === 'hidden' || type === 'object shape') return `(${type}) ${name.slice(0, 40)}`;
  return `${type === 'object' ? '' : `(${type}) `}${name.slice(0, 60)}`;
}

function report(before: Snapshot, after: Snapshot, heap: { before: number; after: number }): void {
  const old = new Set<number>();
  for (let o = before.at.id; o < before.nodes.length; o += before.nodeFields) old.add(before.nodes[o]!);
  const count = after.nodes.length / after.nodeFields;
  // Per kind: objects new in the second snapshot, and their bytes.
  const kinds = new Map<string, { count: number; bytes: number }>();
  let newBytes = 0;
  let goneBytes = 0;
  for (let i = 0; i < count; i++) {
    const size = after.nodes[i * after.nodeFields + after.at.size]!;
    if (old.has(after.nodes[i * after.nodeFields + after.at.id]!)) continue;
    const kind = kindOf(after, i);
    const entry = kinds.get(kind) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += size;
    kinds.set(kind, entry);
    newBytes += size;
  }
  // What died between the snapshots is part of the honest delta (caches replaced, say).
  const alive = new Set<number>();
  for (let o = after.at.id; o < after.nodes.length; o += after.nodeFields) alive.add(after.nodes[o]!);
  for (let o = 0; o < before.nodes.length; o += before.nodeFields) if (!alive.has(before.nodes[o + before.at.id]!)) goneBytes += before.nodes[o + before.at.size]!;

  const top = flag('top', 40);
  const rows = [...kinds.entries()].sort((a, b) => b[1].bytes - a[1].bytes);
  console.log(`\nNew objects per socket (N=${N}), largest first:\n`);
  console.log(`${'bytes/socket'.padStart(12)} ${'count/socket'.padStart(12)}  kind`);
  for (const [kind, { count: c, bytes }] of rows.slice(0, top)) console.log(`${(bytes / N).toFixed(1).padStart(12)} ${(c / N).toFixed(2).padStart(12)}  ${kind}`);
  const rest = rows.slice(top).reduce((sum, [, r]) => sum + r.bytes, 0);
  console.log(`${(rest / N).toFixed(1).padStart(12)} ${''.padStart(12)}  (${rows.length - top > 0 ? rows.length - top : 0} other kinds)`);
  console.log(`\nnew objects: ${(newBytes / N).toFixed(0)} B/socket; objects gone since the first snapshot: ${(goneBytes / N).toFixed(0)} B/socket; net ${((newBytes - goneBytes) / N / 1024).toFixed(2)} KiB/socket`);
  console.log(`heapUsed delta (what the bench reports): ${((heap.after - heap.before) / N / 1024).toFixed(2)} KiB/socket`);

  // Retainers: the shortest path from the root, found by a breadth-first walk over strong edges.
  const parent = new Int32Array(count).fill(-1);
  const parentEdge = new Int32Array(count).fill(-1);
  const weak = after.edgeTypes.indexOf('weak');
  const shortcut = after.edgeTypes.indexOf('shortcut');
  const queue = new Int32Array(count);
  let head = 0;
  let tail = 0;
  queue[tail++] = 0;
  parent[0] = 0;
  while (head < tail) {
    const from = queue[head++]!;
    for (let e = after.firstEdge[from]!; e < after.firstEdge[from + 1]!; e += after.edgeFields) {
      const edgeType = after.edges[e + after.at.edgeType]!;
      if (edgeType === weak || edgeType === shortcut) continue;
      const to = after.edges[e + after.at.edgeTo]! / after.nodeFields;
      if (parent[to] !== -1) continue;
      parent[to] = from;
      parentEdge[to] = e;
      queue[tail++] = to;
    }
  }
  // Per holder: every new object counted under its nearest new ancestor that is an instance of a
  // class of its own (a Socket, a SocketSession, graphql-ws's suspended Generator…), or under the
  // old object (there before the sockets) it hangs from, following the breadth-first tree: not
  // exact retained sizes, but where each byte hangs, and by which path.
  const generic = /^(Object|Array|Map|Set|WeakMap|Promise|Error|\(.*|system \/ .*)$/;
  const edgeLabel = (i: number): string => {
    const e = parentEdge[i]!;
    const edgeType = after.edgeTypes[after.edges[e + after.at.edgeType]!]!;
    const nameOrIndex = after.edges[e + after.at.edgeName]!;
    if (edgeType === 'element' || edgeType === 'hidden') return `[${after.nodeTypes[after.nodes[parent[i]! * after.nodeFields + after.at.type]!] === 'synthetic' ? 'i' : nameOrIndex}]`;
    return `.${after.strings[nameOrIndex]!.replace(/^\d+ \/ part of key.*/, '(weak key)')}`;
  };
  const owned = new Map<string, { bytes: number; count: number; paths: Map<string, { bytes: number; count: number }> }>();
  for (let i = 0; i < count; i++) {
    if (old.has(after.nodes[i * after.nodeFields + after.at.id]!)) continue;
    let holder = '(unreachable)';
    const path: string[] = [];
    for (let j = i, steps = 0; j !== 0 && parent[j] !== -1 && steps < 40; j = parent[j]!, steps++) {
      const up = parent[j]!;
      path.push(`${edgeLabel(j)}${j === i ? '' : `:${kindOf(after, j).slice(0, 24)}`}`);
      if (old.has(after.nodes[up * after.nodeFields + after.at.id]!)) {
        holder = `(old) ${kindOf(after, up)}`;
        break;
      }
      const kind = kindOf(after, up);
      if (after.nodeTypes[after.nodes[up * after.nodeFields + after.at.type]!] === 'object' && !generic.test(kind)) {
        holder = kind;
        break;
      }
    }
    const entry = owned.get(holder) ?? { bytes: 0, count: 0, paths: new Map() };
    const size = after.nodes[i * after.nodeFields + after.at.size]!;
    entry.bytes += size;
    entry.count++;
    const key = `${path.reverse().join('')} = ${kindOf(after, i)}`;
    const byPath = entry.paths.get(key) ?? { bytes: 0, count: 0 };
    byPath.bytes += size;
    byPath.count++;
    entry.paths.set(key, byPath);
    owned.set(holder, entry);
  }
  const holders = [...owned.entries()].sort((a, b) => b[1].bytes - a[1].bytes);
  console.log(`\nBy holder (the nearest new class instance, or the old object it hangs from; the objects under it included), bytes per socket:\n`);
  for (const [holder, { bytes, count: c }] of holders.slice(0, 25)) console.log(`${(bytes / N).toFixed(1).padStart(12)} ${(c / N).toFixed(2).padStart(12)}  ${holder}`);
  const detail = flag('holders', 12);
  console.log(`\nWhat each of the ${detail} largest holders holds, by path from it (bytes and count per socket):`);
  for (const [holder, { bytes, paths: byPath }] of holders.slice(0, detail)) {
    console.log(`\n${holder}: ${(bytes / N).toFixed(1)} B`);
    for (const [key, { bytes: b, count: c }] of [...byPath.entries()].sort((x, y) => y[1].bytes - x[1].bytes).slice(0, 14)) {
      if (b / N < 4) break;
      console.log(`${(b / N).toFixed(1).padStart(10)} ${(c / N).toFixed(2).padStart(6)}  ${key}`);
    }
  }

  // Per kind, its objects grouped by their nearest retainers (the last steps of the path), most common first.
  const chains = flag('chains', 0);
  const depth = flag('depth', 4);
  const step = (i: number): string => {
    const e = parentEdge[i]!;
    const edgeType = after.edgeTypes[after.edges[e + after.at.edgeType]!]!;
    const nameOrIndex = after.edges[e + after.at.edgeName]!;
    const edge = edgeType === 'element' || edgeType === 'hidden' ? `[${nameOrIndex}]` : `.${after.strings[nameOrIndex]}`;
    // Without the snapshot's own ids, so paths through different objects of the same kinds group together.
    return `${kindOf(after, parent[i]!)} ${edge}`.replace(/ ?@\d+/g, '').replace(/\[\d+\]/g, (m) => (after.nodeTypes[after.nodes[parent[i]! * after.nodeFields + after.at.type]!] === 'synthetic' ? '[i]' : m)).replace(/^(.*) \.\d+ \/ part of key/, '$1 . / part of key');
  };
  const paths = new Map<string, Map<string, number>>();
  const wanted = new Set(rows.slice(0, chains).map(([kind]) => kind));
  for (let i = 0; i < count; i++) {
    if (old.has(after.nodes[i * after.nodeFields + after.at.id]!)) continue;
    const kind = kindOf(after, i);
    if (!wanted.has(kind)) continue;
    const parts: string[] = [];
    if (parent[i] === -1) parts.push('(only weakly held)');
    for (let j = i; j !== 0 && parent[j] !== -1 && parts.length < depth; j = parent[j]!) parts.push(step(j));
    const signature = parts.reverse().join(' -> ');
    const byPath = paths.get(kind) ?? new Map<string, number>();
    byPath.set(signature, (byPath.get(signature) ?? 0) + 1);
    paths.set(kind, byPath);
  }
  if (chains === 0) return;
  console.log(`\nWho holds them: for each of the ${chains} largest kinds, its nearest ${depth} retainers (holder .edge), most common first, count per socket:`);
  for (const [kind] of rows.slice(0, chains)) {
    console.log(`\n${kind}`);
    const byPath = [...paths.get(kind)!.entries()].sort((a, b) => b[1] - a[1]);
    for (const [signature, n] of byPath.slice(0, 6)) console.log(`  ${(n / N).toFixed(2).padStart(6)}  ${signature} -> *`);
  }
}
