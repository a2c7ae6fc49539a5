import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { ErrorCode } from '../../errors.js';
import { jsonNestsDeeperThan, MAX_INPUT_DEPTH } from './json-depth.js';

/** Bodies scanned for nesting; the first two are the ones Yoga's JSON parser takes, and parsed here instead. */
const JSON_TYPES = ['application/json', 'application/graphql+json', 'application/graphql-response+json'];
const PARSED_TYPES = JSON_TYPES.slice(0, 2);
const FORM_TYPE = 'application/x-www-form-urlencoded';
/** Only a single non-negative integer is a Content-Length (anything else is how smuggling attempts look). */
const CONTENT_LENGTH = /^\d+$/;

/** The body a request parser is given: read whole, at most the limit. */
interface BodyRequest {
  url: string;
  method: string;
  headers: Headers;
  body: ReadableStream<Uint8Array> | null;
  text(): Promise<string>;
}

/**
 * HTTP request bodies, before GraphQL sees them: at most `maxBytes` (413
 * "Request body too large"), and JSON that nests no deeper than `maxDepth`
 * (400, BAD_USER_INPUT), refused before it is parsed; a JSON body is then
 * parsed here, once. Over WebSocket the frame limit and the same scan do this.
 *
 * In place of Yoga's maxRequestBodySize, which passes every body through a
 * TransformStream and a stream pipeline whose AbortController builds a
 * DOMException at its end: about a tenth of the server's CPU per request
 * (`npm run bench -- --only=ingest --profile`). Node's HTTP parser delivers
 * exactly Content-Length bytes (and refuses a request that also says
 * Transfer-Encoding), so a body with a Content-Length within the limit is
 * read as it is; only a chunked one is counted as it arrives. The errors are
 * Yoga's own, word for word.
 */
export function useRequestBodyGuard(maxBytes: number, maxDepth: number = MAX_INPUT_DEPTH): Plugin {
  return {
    onRequestParse: ({ request, requestParser, setRequestParser, fetchAPI }) => {
      if (request.method !== 'POST' || !requestParser) return;
      const declared = request.headers.get('content-length');
      if (declared !== null) {
        if (!CONTENT_LENGTH.test(declared)) throw httpError('Content-Length header is invalid.', 400, 'BAD_REQUEST');
        if (Number(declared) > maxBytes) throw tooLarge();
      }
      const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase() ?? '';
      const json = JSON_TYPES.includes(type);
      const parsedHere = PARSED_TYPES.includes(type);
      const form = type === FORM_TYPE;
      setRequestParser(async (received) => {
        const text = declared !== null ? await received.text() : await readAtMost(received, maxBytes);
        if ((json || form) && jsonNestsDeeperThan(form ? [...new URLSearchParams(text).values()].join(' ') : text, maxDepth)) {
          throw httpError(`request JSON nests deeper than ${maxDepth} levels`, 400, 'BAD_USER_INPUT');
        }
        if (parsedHere) return parseJsonParams(text);
        return requestParser(new fetchAPI.Request(received.url, { method: received.method, headers: received.headers, body: text }));
      });
    },
  };
}

/** A body without a Content-Length (chunked), read until it ends or passes `maxBytes`. */
async function readAtMost(request: BodyRequest, maxBytes: number): Promise<string> {
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      void reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, length).toString('utf8');
}

/** GraphQL-over-HTTP parameters from a JSON body, refused as Yoga's own JSON parser refuses them. */
function parseJsonParams(text: string): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw createGraphQLError('POST body sent invalid JSON.', {
      extensions: { http: { spec: true, status: 400 }, code: 'BAD_REQUEST', originalError: { name: (error as Error).name, message: (error as Error).message } },
    });
  }
  if (body === null || typeof body !== 'object') throw httpError(`POST body is expected to be object but received ${body === null ? body : typeof body}`, 400, 'BAD_REQUEST');
  return body as Record<string, unknown>;
}

function tooLarge() {
  return httpError('Request body too large', 413, 'REQUEST_ENTITY_TOO_LARGE');
}

function httpError(message: string, status: number, code: ErrorCode | 'BAD_REQUEST' | 'REQUEST_ENTITY_TOO_LARGE') {
  return createGraphQLError(message, { extensions: { code, http: { status } } });
}
