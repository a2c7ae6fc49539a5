import type { Plugin } from 'graphql-yoga';
import { badInput } from '../../errors.js';
import { MAX_INPUT_DEPTH } from './json-depth.js';

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasUnpairedSurrogate(text: string): boolean {
  return UNPAIRED_SURROGATE.test(text);
}

/**
 * One rule for every string a client sends, on every transport, before any
 * resolver runs: text is well-formed Unicode. A lone surrogate ("a\uD800b")
 * would be stored as U+FFFD replacement characters by both drivers (so a
 * checked length would not be the stored one). String literals in the document
 * never get this far (graphql-js's lexer refuses them as a syntax error); this
 * checks the variables, where JSON's "\uD800" escape can put one, and bounds
 * how deep they nest. Lengths are then counted in code points everywhere
 * (`[...text].length` in the domains), which is what both dialects store.
 */
export function useInputPolicy(): Plugin {
  return {
    onExecute: ({ args, setResultAndStopExecution }) => {
      const problem = variablesProblem(args.variableValues);
      if (problem) setResultAndStopExecution({ errors: [badInput(problem)] });
    },
    onSubscribe: ({ args, setResultAndStopExecution }) => {
      const problem = variablesProblem(args.variableValues);
      if (problem) setResultAndStopExecution({ errors: [badInput(problem)] });
    },
  };
}

interface Visit {
  value: unknown;
  key: string;
  depth: number;
  parent: Visit | null;
}

/** Walks the variables without recursion (however they nest, the stack is ours, not V8's). */
export function variablesProblem(variables: unknown): string | null {
  if (variables == null || typeof variables !== 'object') return null;
  const stack: Visit[] = Object.entries(variables).map(([key, value]) => ({ value, key: `$${key}`, depth: 1, parent: null }));
  while (stack.length > 0) {
    const visit = stack.pop()!;
    const { value } = visit;
    if (typeof value === 'string') {
      if (hasUnpairedSurrogate(value)) return `variable ${pathOf(visit)} contains an unpaired surrogate: strings must be well-formed Unicode`;
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (visit.depth >= MAX_INPUT_DEPTH) return `variable ${pathOf(visit)} nests deeper than ${MAX_INPUT_DEPTH} levels`;
    const entries = Array.isArray(value) ? value.map((item, index) => [`[${index}]`, item] as const) : Object.entries(value).map(([key, item]) => [`.${key}`, item] as const);
    for (const [key, item] of entries) stack.push({ value: item, key, depth: visit.depth + 1, parent: visit });
  }
  return null;
}

function pathOf(visit: Visit): string {
  let path = '';
  for (let at: Visit | null = visit; at; at = at.parent) path = at.key + path;
  return `"${path}"`;
}
