import type { ExecutionArgs, GraphQLError } from 'graphql';
import { makeServer, type Context as GraphQLWsContext, type SubscribePayload } from 'graphql-ws';
import type { WebSocketConfig } from '../../config.js';
import { appError } from '../../errors.js';
import { bearerToken } from '../../identity/token.js';
import type { Services } from '../../schema/context.js';
import type { SocketBudgets } from '../budgets/socket-budgets.js';
import { CloseCode, ServerCloseCode } from '../close-codes.js';
import { withoutHttpHint, type ErrorPolicy } from '../error-policy.js';
import type { FanoutContext } from '../fanout/fast-path-plugin.js';
import type { GraphQLPipeline, TransportContext } from '../pipeline.js';
import { createDirectSubscriptions } from './direct-subscriptions.js';
import type { SocketSession } from './socket-session.js';

type ConnectionParams = Record<string, unknown> | undefined;
type SocketContext = GraphQLWsContext<ConnectionParams, SocketSession>;

/** The pipeline's execute and subscribe for one prepared operation. */
export interface PipelineRun {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

/** ...and the end of its start. */
interface PreparedRun extends PipelineRun {
  settle: () => void;
}

/** One operation parsed and validated through the pipeline; its context is made when it starts (`contextFactory`). */
export interface PreparedOperation {
  args: ExecutionArgs;
  run: PipelineRun;
  contextFactory: () => unknown;
}

export interface OperationsOptions {
  pipeline: GraphQLPipeline;
  services: Services;
  errorPolicy: ErrorPolicy;
  config: WebSocketConfig;
  /** Open sockets per user (closed 1013 at connection_init past it); null: RATE_LIMITS=off. */
  budgets: SocketBudgets | null;
}

/**
 * The prototype of each socket's record of its operations (graphql-ws's
 * `ctx.subscriptions`, keyed by the client's ids). graphql-ws makes it with
 * Object.create(null), so that `id in subscriptions` sees no inherited key
 * ("toString"); V8 keeps such an object as a hash table from the start, some
 * 130 bytes more per socket than an ordinary object. An object whose prototype
 * is this empty, frozen one inherits nothing either, and stays ordinary.
 */
const NO_INHERITED_KEYS: object = Object.freeze(Object.create(null) as object);

/**
 * graphql-ws's protocol core with the shared pipeline behind it: authenticates
 * once at connection_init, then runs every operation through
 * pipeline.getEnveloped(), so each one is parsed, validated, authorized,
 * limited and has its errors coded and masked exactly as over HTTP.
 */
export function createProtocolServer(options: OperationsOptions) {
  const { services, errorPolicy, config } = options;
  const runs = new WeakMap<ExecutionArgs, PreparedRun>();

  /** Runs the operation's pipeline call and marks its start settled, however it ends. */
  async function run(args: ExecutionArgs, call: 'execute' | 'subscribe'): Promise<never> {
    const prepared = runs.get(args)!;
    runs.delete(args);
    try {
      return (await prepared[call](args)) as never;
    } finally {
      prepared.settle();
    }
  }

  const server = makeServer<ConnectionParams, SocketSession>({
    // Not a timer per socket: the shared expiry sweep closes 4408 a socket whose connection_init is late (sweeps.ts).
    connectionInitWaitTimeout: 0,

    onConnect: async (ctx) => {
      // Before any subscribe can arrive (graphql-ws refuses them until the ack): see NO_INHERITED_KEYS.
      (ctx as { subscriptions: object }).subscriptions = Object.create(NO_INHERITED_KEYS) as object;
      const token = tokenFrom(ctx.connectionParams);
      const session = ctx.extra;
      session.awaitingInitSince = null;
      // graphql-ws would keep the parameters, the token among them, as long as the socket lives; nothing reads them again.
      // Deleted, not set to undefined: the last property added, it leaves ctx as it was before, without a property array.
      delete (ctx as { connectionParams?: unknown }).connectionParams;
      const { socket } = session;
      // The operators' admin token opens a socket without a user (for `reports` and the operator
      // mutations); it does not expire, so the expiry sweep leaves the socket alone.
      if (services.operators.isAdminToken(token)) {
        session.operator = true;
        session.protocolContext = ctx;
        return socket.readyState === socket.OPEN;
      }
      const viewer = await services.identity.viewerFromToken(token);
      // Gone while its token was checked: nothing more to do for it.
      if (socket.readyState !== socket.OPEN) return false;
      if (!viewer.user) {
        socket.close(CloseCode.Forbidden, viewer.problem);
        return false;
      }
      if (options.budgets && !options.budgets.admitUser(viewer.user.id, socket)) {
        // 1013, not 1008: graphql-ws clients retry it later, when one of the user's other sockets has closed.
        socket.close(ServerCloseCode.TryAgainLater, 'too many connections for this user');
        return false;
      }
      // From now on the expiry sweep closes the socket when the token expires.
      session.viewer = viewer;
      session.protocolContext = ctx;
      return true;
    },

    onSubscribe: async (ctx, id, payload) => {
      // A frame graphql-ws was still working through when the socket closed starts nothing.
      if (ctx.extra.closed) return [appError('BAD_USER_INPUT', 'the connection is closed')];
      const settle = ctx.extra.startOperation(id);
      try {
        const prepared = prepare(options, ctx, id, payload);
        if (Array.isArray(prepared)) {
          settle();
          return prepared;
        }
        prepared.args.contextValue = await prepared.contextFactory();
        runs.set(prepared.args, { ...prepared.run, settle });
        // graphql-ws keeps the subscribe message for the operation's life and reads its query and
        // variables no more (we give it the parsed args): drop the per-socket copies of both.
        (payload as { query: string }).query = '';
        (payload as { variables?: unknown }).variables = undefined;
        return prepared.args;
      } catch (error) {
        // An unexpected failure (the database, say) fails that operation, masked, not the whole socket.
        settle();
        return [withoutHttpHint(errorPolicy.forClient(error))];
      }
    },

    subscribe: (args) => run(args, 'subscribe'),
    execute: (args) => run(args, 'execute'),
  });
  const subscribeDirectly = createDirectSubscriptions(
    (ctx, id, payload) => prepare(options, ctx, id, payload),
    (session, error) => session.handlingFailed(error),
  );
  return { opened: server.opened, subscribeDirectly };
}

/**
 * Parses and validates one operation through the pipeline (synchronously: the
 * direct path decides on the result before anything else can arrive); errors
 * are the client's to see.
 */
export function prepare(options: OperationsOptions, ctx: SocketContext, id: string, payload: SubscribePayload): PreparedOperation | GraphQLError[] {
  const { pipeline, errorPolicy, config } = options;
  if (Object.keys(ctx.subscriptions).length > config.maxSubscriptions) {
    return [appError('RATE_LIMITED', `at most ${config.maxSubscriptions} subscriptions per connection`)];
  }
  const session = ctx.extra;
  const initial: TransportContext & FanoutContext = {
    viewer: session.viewer ?? undefined,
    operator: session.operator,
    connection: session,
    clientIp: session.clientIp,
    fanoutSink: { socket: session.socket, subscriptionId: id },
  };
  const { schema, execute, subscribe, contextFactory, parse, validate } = pipeline.getEnveloped(initial);
  let document;
  try {
    document = parse(payload.query);
  } catch (error) {
    return [withoutHttpHint(errorPolicy.forClient(error))];
  }
  const errors = validate(schema, document);
  if (errors.length > 0) return errors.map(withoutHttpHint);
  // rootValue and contextValue present (undefined until it starts): added later, they would take a
  // property array of their own on an object the subscription keeps for its life.
  const args: ExecutionArgs = { schema, document, rootValue: undefined, operationName: payload.operationName, variableValues: payload.variables, contextValue: undefined };
  return { args, run: { execute, subscribe }, contextFactory };
}

/** Accepts `{ authorization: "Bearer <jwt>" }` or `{ token: "<jwt>" }`; a malformed value is an invalid token. */
function tokenFrom(params: ConnectionParams): string | null {
  const authorization = params?.authorization ?? params?.Authorization;
  if (typeof authorization === 'string') return bearerToken(authorization) ?? 'malformed';
  if (typeof params?.token === 'string') return params.token;
  return null;
}
