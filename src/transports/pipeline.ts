import type { IncomingMessage } from 'node:http';
import { createYoga, useReadinessCheck, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { GraphQLSchema } from 'graphql';
import { bearerToken } from '../identity/token.js';
import type { Viewer } from '../identity/viewer.js';
import type { Logger } from '../logger.js';
import type { Context, LastingConnection, Services } from '../schema/context.js';
import { clientIpOf } from './budgets/client-ip.js';
import type { ErrorPolicy } from './error-policy.js';
import { createOfflineGraphiQL } from './graphiql.js';
import type { QueryLimitsConfig } from './limits/limits-config.js';
import { useQueryLimits } from './limits/query-limits.js';

/**
 * What a transport other than HTTP hands the pipeline instead of a request
 * (graphql-ws: the viewer it authenticated at connection_init, and where a
 * subscription's events go for the fan-out fast path).
 */
export interface TransportContext {
  viewer?: Viewer;
  connection?: LastingConnection;
  /** graphql-ws: whether connection_init carried the operators' admin token (HTTP reads its header instead). */
  operator?: boolean;
  /** graphql-ws: the client's address, taken from the upgrade request (HTTP reads its own request's). */
  clientIp?: string;
  /** HTTP and SSE: the Node request, which Yoga's Node adapter puts in the server context (for its socket's address). */
  req?: IncomingMessage;
}

export type GraphQLPipeline = YogaServerInstance<TransportContext, Context>;

export interface PipelineOptions {
  schema: GraphQLSchema;
  services: Services;
  logger: Logger;
  allowedOrigins: string[] | null;
  errorPolicy: ErrorPolicy;
  /** Proxies in front whose X-Forwarded-For entries name the client (TRUST_PROXY); 0: the socket's address. */
  trustProxy: number;
  /** Depth, aliases, tokens, cost…, the body limit, and whether introspection and GraphiQL are on. */
  limits: QueryLimitsConfig;
  /** Called with the rule's name for every operation a query limit refuses (metrics). */
  onLimitRefused?: (rule: string) => void;
  /** Plugins of other transports (the fan-out fast path), run before the error policy. */
  plugins?: Plugin[];
  /** null when ready; otherwise why not, for /health. */
  notReadyReason: () => Promise<string | null>;
}

/**
 * The one GraphQL pipeline: HTTP and SSE go through it directly, WebSocket
 * operations through its getEnveloped(), so parsing, validation, context,
 * error codes and masking (and every limit added as a plugin) are the same on
 * every transport.
 */
export function createGraphQLPipeline(options: PipelineOptions): GraphQLPipeline {
  const { services, logger } = options;
  return createYoga<TransportContext, Context>({
    schema: options.schema,
    graphqlEndpoint: '/graphql',
    // Yoga's always-200 liveness answers at /livez; /health is readiness, below.
    healthCheckEndpoint: '/livez',
    landingPage: false,
    // GraphiQL runs subscriptions over SSE, so the Authorization header from its Headers tab
    // reaches them too (its WebSocket mode would send no token in connection_init).
    graphiql: options.limits.introspection ? { title: 'Chat API', subscriptionsProtocol: 'SSE' } : false,
    // From the package, not a CDN: GraphiQL works offline.
    renderGraphiQL: createOfflineGraphiQL(),
    cors: options.allowedOrigins ? { origin: options.allowedOrigins, credentials: false } : undefined,
    logging: {
      debug: (...args) => logger.debug(args.join(' ')),
      info: (...args) => logger.info(args.join(' ')),
      warn: (...args) => logger.warn(args.join(' ')),
      error: (...args) => logger.error(args.join(' ')),
    },
    // Masking is the error policy's (one plugin for codes and masking on every transport).
    maskedErrors: false,
    // One operation per request (a JSON array is 400 "Batching is not supported."), no multipart
    // (the schema takes no uploads). Bodies over the limit are 413 before they are read whole,
    // by useRequestBodyGuard (limits/request-guard.ts) instead of Yoga's costlier stream wrapper.
    batching: false,
    multipart: false,
    maxRequestBodySize: false,
    context: ({ request, req, viewer, connection, operator, clientIp }): Context => {
      let resolved: Promise<Viewer> | undefined = viewer ? Promise.resolve(viewer) : undefined;
      let isOperator = operator;
      return {
        services,
        viewer: () => (resolved ??= services.identity.viewerFromToken(bearerToken(request?.headers.get('authorization')))),
        connection,
        clientIp: clientIp ?? (req ? clientIpOf(req, options.trustProxy) : 'unknown'),
        isOperator: () => (isOperator ??= services.operators.isAdminToken(bearerToken(request?.headers.get('authorization')))),
      };
    },
    plugins: [
      useReadinessCheck({
        endpoint: '/health',
        check: async ({ fetchAPI }) => {
          const reason = await options.notReadyReason();
          return new fetchAPI.Response(JSON.stringify(reason ? { status: 'unavailable', reason } : { status: 'ok' }), {
            status: reason ? 503 : 200,
            headers: { 'content-type': 'application/json' },
          });
        },
      }),
      // Before every other plugin: an operation over a limit is refused before anything acts on it.
      ...useQueryLimits(options.limits, options.onLimitRefused),
      ...(options.plugins ?? []),
      // Last, so it sees what the plugins before it made (and the fast path's mark on subscribe).
      options.errorPolicy.plugin,
    ],
  });
}
