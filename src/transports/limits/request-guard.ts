import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { ErrorCode } from '../../errors.js';
import { jsonNestsDeeperThan, MAX_INPUT_DEPTH } from './json-depth.js';

const JSON_TYPES = ['application/json', 'application/graphql+json', 'application/graphql-response+json'];
const FORM_TYPE = 'application/x-www-form-urlencoded';

/**
 * HTTP: a POST body whose JSON nests deeper than MAX_INPUT_DEPTH is refused
 * (400, BAD_USER_INPUT) before it is parsed. Yoga's body limit
 * (maxRequestBodySize) wraps this parser, so the text read here is already
 * bounded; over WebSocket the frame limit and the same scan do this job.
 */
export function useRequestNestingLimit(max: number = MAX_INPUT_DEPTH): Plugin {
  return {
    onRequestParse: ({ request, requestParser, setRequestParser, fetchAPI }) => {
      if (request.method !== 'POST' || !requestParser) return;
      const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase() ?? '';
      const form = type === FORM_TYPE;
      if (!form && !JSON_TYPES.includes(type)) return;
      setRequestParser(async (limited) => {
        const text = await limited.text();
        const json = form ? [...new URLSearchParams(text).values()].join(' ') : text;
        if (jsonNestsDeeperThan(json, max)) {
          throw createGraphQLError(`request JSON nests deeper than ${max} levels`, {
            extensions: { code: 'BAD_USER_INPUT' satisfies ErrorCode, http: { status: 400 } },
          });
        }
        return requestParser(new fetchAPI.Request(limited.url, { method: limited.method, headers: limited.headers, body: text }));
      });
    },
  };
}
