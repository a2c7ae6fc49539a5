import { serve } from '../bench/ipc.js';
import { probeHandlers } from '../bench/probes.js';
import { summarize, type LatencySummary } from '../bench/stats.js';
import type { Session } from '../sdk/index.js';
import { startBalancer, type Balancer } from './balancer.js';
import { Sender, type SendReport } from './sender.js';
import { Subscriber } from './subscriber.js';

/**
 * The people of a drill, in a process of their own: SDK clients reading a
 * room, a sender, and the load balancer they all reach the instances through.
 */
let balancer: Balancer | null = null;
let subscribers: Subscriber[] = [];
let sender: Sender | null = null;

export interface SeqWait {
  reached: number;
  missing: number;
  /** ms from `since` until each client delivered the seq. */
  times: LatencySummary;
}

export interface DeliveryCheck {
  clients: number;
  clientsWithLoss: number;
  lost: number;
  doubled: number;
  outOfOrder: number;
  /** Frames of a seq a client's sockets had already received (dropped by the SDK). */
  rawRepeats: number;
  gapFills: number;
  reconnects: number;
  /** Sockets opened beyond one per client. */
  extraSockets: number;
  /** How sockets ended, by close code. */
  closes: Record<number, number>;
  /** Sockets the clients cut off themselves (pong timeout). */
  terminated: number;
  /** Socket errors by message. */
  socketErrors: Record<string, number>;
  errors: string[];
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

serve({
  ...probeHandlers(),
  balancer: async ({ backends }: { backends: number[] }) => {
    await balancer?.close();
    balancer = await startBalancer(backends);
    return { url: balancer.url };
  },
  balancerOpen: () => balancer?.openByBackend() ?? {},
  /** Network loss for every connection through the balancer. */
  cut: () => ({ cut: balancer?.cut() ?? 0, at: Date.now() }),

  /** `count` SDK clients (sessions and rooms used in turn) subscribed after each room's `after`; resolves once all are online. */
  open: async ({ count, sessions, rooms, batch = 100, timeoutMs = 60_000 }: { count: number; sessions: Session[]; rooms: { roomId: string; after: string | null }[]; batch?: number; timeoutMs?: number }) => {
    if (!balancer) throw new Error('start the balancer first');
    const started = Date.now();
    for (let i = 0; i < count; i++) {
      const { roomId, after } = rooms[i % rooms.length]!;
      subscribers.push(new Subscriber(balancer.url, sessions[i % sessions.length]!, roomId, after));
      // Opened in batches, like people arriving, not one SYN flood.
      if ((i + 1) % batch === 0) await wait(20);
    }
    while (!subscribers.every((s) => s.online)) {
      if (Date.now() - started > timeoutMs) throw new Error(`${subscribers.filter((s) => !s.online).length} of ${count} clients not online after ${timeoutMs} ms`);
      await wait(50);
    }
    return { ms: Date.now() - started };
  },
  online: () => subscribers.filter((s) => s.online).length,

  /** Waits (at most timeoutMs) until every client delivered its room's seq ≥ `seqs[roomId]`; times are from `since` (Date.now()). */
  waitSeq: async ({ seqs, since, timeoutMs }: { seqs: Record<string, number>; since: number; timeoutMs: number }): Promise<SeqWait> => {
    const target = (s: Subscriber) => seqs[s.roomId] ?? 0;
    await Promise.race([Promise.all(subscribers.map((s) => s.reached(target(s)))), wait(timeoutMs)]);
    const times: number[] = [];
    let missing = 0;
    for (const s of subscribers) {
      const at = s.reachedAt(target(s));
      if (at === null) missing++;
      else times.push(at - since);
    }
    return { reached: times.length, missing, times: summarize(times) };
  },

  /** Every client's deliveries of its room's from…to. */
  check: ({ ranges }: { ranges: Record<string, { from: number; to: number }> }): DeliveryCheck => {
    const result: DeliveryCheck = { clients: subscribers.length, clientsWithLoss: 0, lost: 0, doubled: 0, outOfOrder: 0, rawRepeats: 0, gapFills: 0, reconnects: 0, extraSockets: 0, closes: {}, terminated: 0, socketErrors: {}, errors: [] };
    for (const s of subscribers) {
      const range = ranges[s.roomId];
      if (!range) throw new Error(`no range for room ${s.roomId}`);
      const c = s.check(range.from, range.to);
      if (c.lost > 0) result.clientsWithLoss++;
      result.lost += c.lost;
      result.doubled += c.doubled;
      result.outOfOrder += c.outOfOrder;
      result.rawRepeats += c.rawRepeats;
      result.gapFills += s.gapFills;
      result.reconnects += s.reconnects;
      result.extraSockets += Math.max(0, s.sockets - 1);
      result.terminated += s.terminated;
      for (const [code, n] of s.closes) result.closes[code] = (result.closes[code] ?? 0) + n;
      result.errors.push(...s.errors);
      for (const e of s.socketErrors) result.socketErrors[e] = (result.socketErrors[e] ?? 0) + 1;
    }
    result.errors = [...new Set(result.errors)].slice(0, 10);
    return result;
  },

  closeClients: async () => {
    const closing = subscribers.splice(0);
    await Promise.allSettled(closing.map((s) => s.close()));
    return { closed: closing.length };
  },

  startSender: ({ url, session, roomIds, perSecond }: { url?: string; session: Session; roomIds: string[]; perSecond: number }) => {
    const target = url ?? balancer?.url;
    if (!target) throw new Error('no url for the sender');
    sender = new Sender(target, session, roomIds);
    sender.start(perSecond);
  },
  stopSender: async (): Promise<SendReport> => {
    if (!sender) throw new Error('no sender');
    return sender.stop();
  },
  retryFailed: () => sender?.retryFailed() ?? [],
  closeSender: async () => {
    await sender?.close();
    sender = null;
  },
});
