import { createYoga, useReadinessCheck, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { GraphQLError, GraphQLSchema } from 'graphql';
import { bearerToken } from '../identity/token.js';
import type { Viewer } from '../identity/identity.service.js';
import type { Logger } from '../logger.js';
import type { Context, Services } from '../schema/context.js';
import { createErrorMasker, withKnownCode } from './error-codes.js';

/** What the WebSocket transport hands to the shared pipeline instead of an HTTP request. */
export interface SocketContext {
  viewer?: Viewer;
}

export type Yoga = YogaServerInstance<SocketContext, Context>;

export interface HttpOptions {
  schema: GraphQLSchema;
  services: Services;
  logger: Logger;
  allowedOrigins: string[] | null;
  /** null when ready; otherwise why not, for /health. */
  notReadyReason: () => Promise<string | null>;
}

/**
 * The one GraphQL pipeline: HTTP and SSE go through it directly, WebSocket
 * subscriptions through yoga.getEnveloped(), so parsing, validation, context
 * and error masking are the same on every transport.
 */
export function createHttpTransport(options: HttpOptions): Yoga {
  const { services, logger } = options;
  return createYoga<SocketContext, Context>({
    schema: options.schema,
    graphqlEndpoint: '/graphql',
    // Yoga's always-200 liveness answers at /livez; /health is readiness, below.
    healthCheckEndpoint: '/livez',
    landingPage: false,
    // GraphiQL runs subscriptions over SSE, so the Authorization header from its Headers tab
    // reaches them too (its WebSocket mode would send no token in connection_init).
    graphiql: { title: 'Chat API', subscriptionsProtocol: 'SSE' },
    cors: options.allowedOrigins ? { origin: options.allowedOrigins, credentials: false } : undefined,
    logging: {
      debug: (...args) => logger.debug(args.join(' ')),
      info: (...args) => logger.info(args.join(' ')),
      warn: (...args) => logger.warn(args.join(' ')),
      error: (...args) => logger.error(args.join(' ')),
    },
    maskedErrors: { maskError: createErrorMasker(logger) },
    context: ({ request, viewer }): Context => {
      let resolved: Promise<Viewer> | undefined = viewer ? Promise.resolve(viewer) : undefined;
      return {
        services,
        viewer: () => (resolved ??= services.identity.viewerFromToken(bearerToken(request?.headers.get('authorization')))),
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
      useKnownErrorCodes(),
    ],
  });
}

function useKnownErrorCodes(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (Symbol.asyncIterator in result) return;
      const fix = (r: { errors?: readonly GraphQLError[] }) => (r.errors ? { ...r, errors: r.errors.map(withKnownCode) } : r);
      setResult(Array.isArray(result) ? result.map(fix) : fix(result));
    },
  };
}
