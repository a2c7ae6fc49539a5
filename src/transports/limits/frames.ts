import { jsonNestsDeeperThan, MAX_INPUT_DEPTH } from './json-depth.js';

/**
 * Why a graphql-ws frame is refused before graphql-ws parses it, or null.
 * graphql-transport-ws speaks JSON text: a binary frame is not the protocol;
 * a frame nesting deeper than any message does would only stall JSON.parse.
 * The socket is then closed 4400 (graphql-ws's own code for a bad message).
 */
export function frameRefusal(text: string | null): string | null {
  if (text === null) return 'binary frames are not accepted: graphql-transport-ws messages are text';
  if (jsonNestsDeeperThan(text, MAX_INPUT_DEPTH)) return `message nests deeper than ${MAX_INPUT_DEPTH} levels`;
  return null;
}
