import type { ExecutionResult, GraphQLError } from 'graphql';
import { MessageType, stringifyMessage, validateMessage, type Context as GraphQLWsContext, type SubscribeMessage, type SubscribePayload } from 'graphql-ws';
import { isAsyncIterable } from 'graphql-yoga';
import { HeldSubscription } from '../../infrastructure/streams/held-subscription.js';
import { FAST_PATH_FIELDS, hasFastPath } from '../fanout/plan.js';
import type { PreparedOperation } from './operations.js';
import type { SocketSession } from './socket-session.js';

type SocketContext = GraphQLWsContext<Record<string, unknown> | undefined, SocketSession>;
/** graphql-ws's record of a socket's operations: null while one starts, then what it runs. */
type Operations = Record<string, unknown>;

/**
 * Starts `message` here when it is a subscription with a fast path; false
 * leaves it to graphql-ws (anything else, and anything graphql-ws refuses).
 */
export type SubscribeDirectly = (ctx: SocketContext, message: unknown) => boolean;

/**
 * Fast-path subscriptions (`messageAdded`, `typing`) started and held here,
 * not run by graphql-ws.
 *
 * graphql-ws runs each operation in a suspended async function for as long as
 * it lives: its frame, the emit closures, the subscribe message, a pending
 * promise; about 1 KiB per subscription (scripts/heap-per-socket.ts), the
 * largest part of what an idle socket costs beyond `ws`. A fast-path
 * subscription needs none of it: the fan-out writes its events to the socket,
 * and graphql-ws would only wait on an iterator that never yields. So such a
 * subscribe is prepared through the same pipeline, started, and its
 * HeldSubscription put in graphql-ws's own record of the socket's operations
 * (`ctx.subscriptions`), where graphql-ws would keep an iterator: graphql-ws
 * still refuses a second subscribe for the id (4409), ends it on the client's
 * complete and when the socket closes, and runs everything else
 * (connection_init, pings, every other operation) as before. The frames sent
 * here are graphql-ws's own (its stringifyMessage), in its order.
 */
export function createDirectSubscriptions(
  prepare: (ctx: SocketContext, id: string, payload: SubscribePayload) => PreparedOperation | readonly GraphQLError[],
  failed: (session: SocketSession, error: unknown) => void,
): SubscribeDirectly {
  return (ctx, message) => {
    if (!isCandidate(message) || !ctx.acknowledged || ctx.extra.closed) return false;
    const operations = ctx.subscriptions as Operations;
    const { id, payload } = message;
    // graphql-ws closes 4409 for an id in use.
    if (id in operations) return false;
    // As graphql-ws does before it starts one: a complete for the id, or a second subscribe, is seen from
    // now on; and the per-socket limit (in prepare) counts this one.
    operations[id] = null;
    // Synchronous, so nothing the client sends next can come between the decision and the registration.
    // graphql-ws prepares a refused or general-path one again: Yoga caches parsing and validation.
    const prepared = prepare(ctx, id, payload);
    if (!('args' in prepared) || !hasFastPath(prepared.args)) {
      delete operations[id];
      return false;
    }
    const settle = ctx.extra.startOperation(id);
    start(ctx, id, prepared)
      .catch((error: unknown) => {
        if (operations[id] === null) delete operations[id];
        failed(ctx.extra, error);
      })
      .finally(settle);
    return true;
  };
}

/** Subscribes through the pipeline and holds the result in graphql-ws's record, unless the client let go meanwhile. */
async function start(ctx: SocketContext, id: string, prepared: PreparedOperation): Promise<void> {
  prepared.args.contextValue = await prepared.contextFactory();
  const result = (await prepared.run.subscribe(prepared.args)) as HeldSubscription | AsyncIterable<ExecutionResult> | ExecutionResult;
  // graphql-ws deletes the id on the client's complete, and starts a new record when the socket closes.
  const operations = ctx.subscriptions as Operations;
  const wanted = operations[id] === null && !ctx.extra.closed;
  if (result instanceof HeldSubscription) {
    if (!wanted) return void result.return();
    // Only graphql-ws ends it from here on (the client's complete, the socket's close), and says
    // whatever there is to say. No fast path ends a subscription of its own accord; one that starts
    // to must also send the client its `complete` and take the id out of this record.
    operations[id] = result;
    return;
  }
  if (isAsyncIterable(result)) {
    // hasFastPath() makes the fast paths' own test, so a fast-path plugin took it; a stream here means
    // a plugin before them changed that. Ended, and the socket closed 1011 with the bug logged (failed()).
    await result[Symbol.asyncIterator]().return?.();
    throw new Error(`subscription ${id} passed hasFastPath() but a plugin returned a stream for it: transports/fanout/plan.ts and the fast-path plugins disagree`);
  }
  // Refused before it started (access, a budget): one `next` with the errors, then `complete`, as graphql-ws sends them.
  if (operations[id] === null) delete operations[id];
  if (!wanted) return;
  send(ctx, { id, type: MessageType.Next, payload: payloadOf(result) });
  send(ctx, { id, type: MessageType.Complete });
}

/** A subscribe graphql-ws would accept, for a root field with a fast path (a cheap look at the text first). */
function isCandidate(message: unknown): message is SubscribeMessage {
  const maybe = message as { type?: unknown; payload?: { query?: unknown } } | null;
  if (typeof maybe !== 'object' || maybe === null || maybe.type !== MessageType.Subscribe) return false;
  const query = maybe.payload?.query;
  if (typeof query !== 'string' || !FAST_PATH_FIELDS.some((field) => query.includes(field))) return false;
  try {
    validateMessage(message);
    return true;
  } catch {
    // graphql-ws closes 4400 on it.
    return false;
  }
}

/** A result as graphql-ws puts it in `next`: errors serialised, left out when there are none. */
function payloadOf(result: ExecutionResult): ExecutionResult {
  const { errors, ...rest } = result;
  return (errors ? { ...rest, errors: errors.map((error) => error.toJSON()) } : rest) as ExecutionResult;
}

function send(ctx: SocketContext, message: Parameters<typeof stringifyMessage>[0]): void {
  const socket = ctx.extra.socket;
  if (socket.readyState === socket.OPEN) socket.send(stringifyMessage(message));
}
