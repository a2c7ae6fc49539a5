import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { handleProtocols, makeServer, CloseCode as WsCloseCode, type Context as SocketContextOf, type SubscribePayload } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { WebSocketConfig } from '../config.js';
import { appError } from '../errors.js';
import type { Viewer } from '../identity/identity.service.js';
import { bearerToken } from '../identity/token.js';
import type { Logger } from '../logger.js';
import type { RoomStreamRequest } from '../messages/room-stream.service.js';
import type { Context, Services } from '../schema/context.js';
import { CloseCode } from './close-codes.js';
import { createErrorMasker, withKnownCode } from './error-codes.js';
import { HeldSubscription, planMessageAdded, ShapeRegistry, SocketMember, type MessageAddedPlan } from './fanout.js';
import type { Yoga } from './http.js';

export interface WebSocketOptions {
  httpServer: HttpServer;
  yoga: Yoga;
  services: Services;
  logger: Logger;
  allowedOrigins: string[] | null;
  config: WebSocketConfig;
}

/** Per-socket state graphql-ws carries for us as `ctx.extra`. */
interface SocketExtra {
  socket: WebSocket;
  viewer?: Viewer;
  /** A ping went out and no pong came back yet. */
  awaitingPong?: boolean;
}

/** Execution args on the fast path carry the plan to `subscribe` through rootValue. */
interface FastPathRoot {
  fastPath: { plan: MessageAddedPlan; request: RoomStreamRequest; socket: WebSocket; id: string };
}
interface PipelineRoot {
  subscribe: (args: ExecutionArgs) => unknown;
  execute: (args: ExecutionArgs) => unknown;
}

/**
 * graphql-ws (graphql-transport-ws) on the HTTP server's /graphql path: a thin
 * adapter from `ws` sockets onto graphql-ws's protocol core, with Yoga's pipeline
 * behind it. Authenticates once at connection_init.
 */
export function attachWebSocketTransport(options: WebSocketOptions) {
  const { yoga, services, logger, config } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxPayloadBytes, handleProtocols });
  // Rendering errors are masked and logged exactly as Yoga's pipeline does on the general path.
  const maskError = createErrorMasker(logger);
  const shapes = new ShapeRegistry((errors) => errors.map((e) => withKnownCode(maskError(e, 'Unexpected error.') as GraphQLError).toJSON()));
  let accepting = true;
  const renderContext: Context = { services, viewer: async () => ({ user: null, problem: 'missing token' }) };

  const server = makeServer<Record<string, unknown> | undefined, SocketExtra>({
    connectionInitWaitTimeout: config.connectionInitTimeoutMs,

    onConnect: async (ctx) => {
      const viewer = await services.identity.viewerFromToken(tokenFrom(ctx.connectionParams));
      const { socket } = ctx.extra;
      // Gone while its token was checked: its close handler already ran, so an expiry timer would outlive it.
      if (socket.readyState !== socket.OPEN) return false;
      if (!viewer.user) {
        socket.close(CloseCode.Forbidden, viewer.problem);
        return false;
      }
      // From now on the housekeeping sweep closes the socket when the token expires.
      ctx.extra.viewer = viewer;
      return true;
    },

    // An unexpected failure (the database, say) fails that operation, masked, not the whole socket.
    onSubscribe: (ctx, id, payload) => prepare(ctx, id, payload).catch((error: unknown) => [maskUnexpected(error)]),

    subscribe: async (args) => {
      const root = args.rootValue as FastPathRoot | PipelineRoot;
      if (!('fastPath' in root)) return root.subscribe(args) as never;
      const { plan, request, socket, id } = root.fastPath;
      const extra = (socket as WebSocket & { extra?: SocketExtra }).extra!;
      const shape = shapes.acquire(plan.shapeKey, args);
      // graphql-ws keeps the execution args as long as the subscription lives, and the
      // fast path no longer needs them (the shape has its own copy): drop what they hold.
      args.rootValue = args.contextValue = args.variableValues = undefined;
      const member = new SocketMember(socket, id, shape, config.maxBufferedBytes);
      const held = new HeldSubscription();
      held.onEnd(() => shapes.release(shape));
      try {
        held.onEnd(await services.streams.open(extra.viewer!.user!, request, member));
      } catch (error) {
        void held.return();
        return { errors: [maskUnexpected(error)] };
      }
      return held;
    },

    execute: (args) => (args.rootValue as PipelineRoot).execute(args) as never,
  });

  function maskUnexpected(error: unknown): GraphQLError {
    return error instanceof GraphQLError && !error.originalError ? error : (maskError(error, 'Unexpected error.') as GraphQLError);
  }

  async function prepare(ctx: SocketContextOf<Record<string, unknown> | undefined, SocketExtra>, id: string, payload: SubscribePayload) {
    if (Object.keys(ctx.subscriptions).length > config.maxSubscriptions) {
      return [appError('RATE_LIMITED', `at most ${config.maxSubscriptions} subscriptions per connection`)];
    }
    const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({ viewer: ctx.extra.viewer });
    let document;
    try {
      document = parse(payload.query);
    } catch (error) {
      if (error instanceof GraphQLError) return [withKnownCode(error)];
      throw error;
    }
    const errors = validate(schema, document);
    if (errors.length > 0) return errors.map(withKnownCode);
    const args: ExecutionArgs = {
      schema,
      document,
      operationName: payload.operationName,
      variableValues: payload.variables,
      // Message fields read nothing from the context, so fast-path renders share one.
      contextValue: renderContext,
      rootValue: { execute, subscribe } satisfies PipelineRoot,
    };
    const plan = planMessageAdded(args);
    if (plan === null) return { ...args, contextValue: await contextFactory() };
    if (Array.isArray(plan)) return (plan as readonly GraphQLError[]).map(withKnownCode);
    const messageAdded = plan as MessageAddedPlan;
    const request = await services.streams.check(messageAdded.roomId, messageAdded.after);
    const fastPath: FastPathRoot['fastPath'] = { plan: messageAdded, request, socket: ctx.extra.socket, id };
    return { ...args, rootValue: { fastPath } satisfies FastPathRoot };
  }

  wss.on('connection', (socket: WebSocket & { extra?: SocketExtra }) => {
    // Only what later steps need: the upgrade request (headers and all) is not kept per socket.
    const extra: SocketExtra = { socket };
    socket.extra = extra;
    socket.on('error', (error) => logger.warn({ err: error }, 'websocket error'));
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) => {
          if (socket.readyState === socket.OPEN) socket.send(data);
        },
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', (data) => {
            handle(String(data)).catch((error: unknown) => {
              logger.error({ err: error }, 'websocket message handling failed');
              socket.close(WsCloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      extra,
    );
    socket.on('pong', answeredPing);
    socket.once('close', (code, reason) => {
      void closed(code, String(reason));
    });
  });

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (pathname !== '/graphql') return refuse(socket, 404, 'Not Found');
    if (!accepting) return refuse(socket, 503, 'Service Unavailable');
    const origin = request.headers.origin;
    if (options.allowedOrigins && origin !== undefined && !options.allowedOrigins.includes(origin)) {
      logger.info({ origin }, 'websocket upgrade refused: origin not allowed');
      return refuse(socket, 403, 'Forbidden');
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  options.httpServer.on('upgrade', onUpgrade);

  // Timers shared by every socket rather than one or two each (they add up at 10,000 sockets).
  // Keep-alive: a peer that has not answered the previous ping by the next one is dropped,
  // so a vanished client is gone within two intervals.
  const keepAlive = setInterval(() => {
    for (const socket of wss.clients as Set<WebSocket & { extra?: SocketExtra }>) {
      const extra = socket.extra;
      if (!extra) continue;
      if (extra.awaitingPong) {
        socket.terminate();
        continue;
      }
      extra.awaitingPong = true;
      socket.ping();
    }
  }, config.keepAliveMs);
  keepAlive.unref();
  // Token expiry: closed within EXPIRY_SWEEP_MS of it, so the client reconnects with a fresh
  // token (graphql-ws retries 4403).
  const expirySweep = setInterval(() => {
    const now = Date.now();
    for (const socket of wss.clients as Set<WebSocket & { extra?: SocketExtra }>) {
      const viewer = socket.extra?.viewer;
      if (viewer?.user && viewer.expiresAt <= now && socket.readyState === socket.OPEN) socket.close(CloseCode.Forbidden, 'token expired');
    }
  }, EXPIRY_SWEEP_MS);
  expirySweep.unref();

  return {
    /** Refuses new sockets and asks every open one to reconnect elsewhere. */
    async close(): Promise<void> {
      accepting = false;
      clearInterval(keepAlive);
      clearInterval(expirySweep);
      options.httpServer.off('upgrade', onUpgrade);
      const open = [...wss.clients];
      await Promise.all(
        open.map(
          (socket) =>
            new Promise<void>((resolve) => {
              if (socket.readyState === socket.CLOSED) return resolve();
              socket.once('close', () => resolve());
              socket.close(CloseCode.GoingAway, 'server shutting down');
              // A peer that does not answer the close handshake is cut off.
              setTimeout(() => socket.terminate(), 2_000).unref();
            }),
        ),
      );
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** How often open sockets are checked for an expired token. */
const EXPIRY_SWEEP_MS = 250;

/** Accepts `{ authorization: "Bearer <jwt>" }` or `{ token: "<jwt>" }`; a malformed value is an invalid token. */
function tokenFrom(params: Record<string, unknown> | undefined): string | null {
  const authorization = params?.authorization ?? params?.Authorization;
  if (typeof authorization === 'string') return bearerToken(authorization) ?? 'malformed';
  if (typeof params?.token === 'string') return params.token;
  return null;
}

function answeredPing(this: WebSocket & { extra?: SocketExtra }): void {
  if (this.extra) this.extra.awaitingPong = false;
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
