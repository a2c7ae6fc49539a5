/**
 * Nesting a request's JSON may have, counted from its root (an HTTP body, a
 * graphql-ws frame) or from `variables`. No input of the schema nests deeper
 * than a few levels (`{ variables: { input: { body } } }`), while JSON.parse of
 * a megabyte of `[[[[…` holds the event loop for 100–300 ms: a cheap scan
 * refuses such text before anything parses it.
 */
export const MAX_INPUT_DEPTH = 20;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** Whether JSON text nests arrays/objects deeper than `max`; strings are skipped, the text need not be valid. */
export function jsonNestsDeeperThan(text: string, max: number = MAX_INPUT_DEPTH): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Skip the string: to its closing quote, stepping over escapes.
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === BACKSLASH) i++;
        else if (s === QUOTE) break;
      }
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}
