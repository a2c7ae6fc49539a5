import { encodeCursor } from '../src/paging.js';
import { HttpPoster } from './http-post.js';
import { serve } from './ipc.js';
import { Samples, type LatencySummary } from './stats.js';

/**
 * HTTP load: `concurrency` clients on keep-alive connections, each sending its
 * next request as soon as the last one is answered, for a warm-up and then a
 * measured window. Every answer is checked; a wrong one counts as an error.
 */

export type HttpOperation = 'sendMessage' | 'noopMutation' | 'typename' | 'history';

export interface HttpJob {
  url: string;
  operation: HttpOperation;
  concurrency: number;
  warmUpMs: number;
  durationMs: number;
  /** sendMessage: one token per client (round-robin if fewer). */
  tokens?: string[];
  roomId?: string;
  /** history: how many messages the room holds; pages start in its middle half. */
  historySize?: number;
}

export interface HttpResult {
  requests: number;
  perSec: number;
  latencyMs: LatencySummary;
  errors: number;
  firstError: string | null;
  /** CPU time of this process over the measured window, as a fraction of one core. */
  loadBusy: number;
  /** CPU time of this process over the whole run, warm-up included, µs. */
  cpuMicros: number;
  /** Set by the orchestrator: cores' worth of CPU other processes on the machine used meanwhile. */
  foreignCores?: number | null;
}

const SEND_MESSAGE = 'mutation($input: SendMessageInput!){ sendMessage(input:$input){ id seq } }';
const HISTORY_PAGE = 50;
const HISTORY =
  'query($r: ID!, $b: String){ messages(roomId:$r, last:50, before:$b){ edges { cursor node { id seq body createdAt sender { handle } } } pageInfo { hasPreviousPage startCursor } } }';

/** The request body for the `n`th request of client `client`, and how to check its answer. */
function operationFor(job: HttpJob, client: number): { body: (n: number) => string; check: (text: string) => boolean } {
  switch (job.operation) {
    case 'noopMutation': {
      const body = JSON.stringify({ query: 'mutation { __typename }' });
      return { body: () => body, check: (text) => text.includes('"__typename":"Mutation"') };
    }
    case 'typename': {
      const body = JSON.stringify({ query: '{ __typename }' });
      return { body: () => body, check: (text) => text.includes('"__typename":"Query"') };
    }
    case 'sendMessage':
      return {
        body: (n) => {
          const clientMessageId = `c${client}-${n}`;
          const input = { roomId: job.roomId, body: `ingest ${clientMessageId} ${Date.now()}`, clientMessageId };
          return JSON.stringify({ query: SEND_MESSAGE, variables: { input } });
        },
        check: (text) => text.includes('"sendMessage":{') && !text.includes('"errors"'),
      };
    case 'history': {
      const size = job.historySize!;
      return {
        body: () => {
          const before = Math.floor(size / 4 + Math.random() * (size / 2));
          return JSON.stringify({ query: HISTORY, variables: { r: job.roomId, b: encodeCursor('msg', before) } });
        },
        check: (text) => {
          const result = JSON.parse(text) as { data?: { messages?: { edges: unknown[] } } };
          return result.data?.messages?.edges.length === HISTORY_PAGE;
        },
      };
    }
  }
}

async function run(job: HttpJob): Promise<HttpResult> {
  const poster = new HttpPoster(new URL(job.url), job.concurrency);
  const latencies = new Samples(1 << 16);
  let requests = 0;
  let errors = 0;
  let firstError: string | null = null;
  const startedAt = performance.now();
  const measureFrom = startedAt + job.warmUpMs;
  const end = measureFrom + job.durationMs;
  const cpuAtStart = process.cpuUsage();
  let cpuBefore = cpuAtStart;
  const warmUpOver = setTimeout(() => (cpuBefore = process.cpuUsage()), job.warmUpMs);

  await Promise.all(
    Array.from({ length: job.concurrency }, async (_, client) => {
      const { body, check } = operationFor(job, client);
      const token = job.tokens?.[client % job.tokens.length];
      const authorization = token ? `Bearer ${token}` : undefined;
      for (let n = 0; performance.now() < end; n++) {
        const sentAt = performance.now();
        try {
          const { status, text } = await poster.post(body(n), authorization);
          if (status !== 200 || !check(text)) throw new Error(`answered ${status}: ${text.slice(0, 300)}`);
          const doneAt = performance.now();
          if (doneAt >= measureFrom && doneAt <= end) {
            requests++;
            latencies.push(doneAt - sentAt);
          }
        } catch (error) {
          errors++;
          firstError ??= String(error);
        }
      }
    }),
  );
  clearTimeout(warmUpOver);
  const cpu = process.cpuUsage(cpuBefore);
  const cpuTotal = process.cpuUsage(cpuAtStart);
  poster.close();
  return {
    requests,
    perSec: requests / (job.durationMs / 1000),
    latencyMs: latencies.summarize(),
    errors,
    firstError,
    loadBusy: (cpu.user + cpu.system) / 1000 / (performance.now() - measureFrom),
    cpuMicros: cpuTotal.user + cpuTotal.system,
  };
}

serve({ run });
