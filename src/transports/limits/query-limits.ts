import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError, NoSchemaIntrospectionCustomRule, type ExecutionResult, type ValidationContext, type ValidationRule } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { useInputPolicy } from './input-policy.js';
import type { QueryLimitsConfig } from './limits-config.js';
import { costRule, mutationFieldsRule } from './operation-rules.js';
import { useRequestBodyGuard } from './request-guard.js';

/**
 * Query limits for every transport: the plugins run in the one pipeline, so
 * HTTP, SSE and graphql-ws (through getEnveloped()) parse and validate alike,
 * and an operation over a limit is refused before any resolver runs, as
 * BAD_USER_INPUT with a message that names the limit. Checked once per
 * operation (parse and validation are cached per document), never per event.
 *
 * GraphQL Armor bounds tokens (in the parser: a 3,000-level document stops at
 * the limit instead of overflowing the stack), depth, aliases and directives;
 * cost and writes per mutation are ours (operation-rules.ts).
 */
export function useQueryLimits(limits: QueryLimitsConfig, onRefused: (rule: string) => void = () => {}): Plugin[] {
  // Armor's rules throw "Syntax Error: …" by default; reported instead, they are validation errors like any other.
  const report = { propagateOnRejection: false, onReject: [reportTo] };
  const rules: ValidationRule[] = [
    counted('max-depth', maxDepthRule({ n: limits.maxDepth, flattenFragments: true, ...report }), onRefused),
    counted('max-aliases', maxAliasesRule({ n: limits.maxAliases, ...report }), onRefused),
    counted('max-directives', maxDirectivesRule({ n: limits.maxDirectives, ...report }), onRefused),
    counted('max-cost', costRule(limits.maxCost), onRefused),
    counted('max-mutation-fields', mutationFieldsRule(limits.maxMutationFields), onRefused),
  ];
  if (!limits.introspection) rules.push(NoSchemaIntrospectionCustomRule);
  return [
    useRequestBodyGuard(limits.maxBodyBytes),
    maxTokensPlugin({ n: limits.maxTokens, onReject: [() => onRefused('max-tokens')] }),
    {
      onValidate: ({ addValidationRule }) => {
        for (const rule of rules) addValidationRule(rule);
      },
    },
    useInputPolicy(),
    ...(limits.introspection ? [] : [useHiddenSuggestions()]),
  ];
}

/** `rule`, with every error it reports counted under `name` (the metrics' chat_rejections_total{rule}). */
function counted(name: string, rule: ValidationRule, onRefused: (rule: string) => void): ValidationRule {
  // One context serves every rule: each gets a view of it whose reportError counts for that rule alone.
  return (context) =>
    rule(
      Object.create(context, {
        reportError: {
          value: (error: GraphQLError) => {
            onRefused(name);
            context.reportError(error);
          },
        },
      }) as ValidationContext,
    );
}

function reportTo(context: ValidationContext | null, error: GraphQLError): void {
  context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, ''), { nodes: error.nodes }));
}

/** graphql-js's "Did you mean …?" (fields, arguments, types, enum values), always at the end of its message. */
const SUGGESTION = / ?Did you mean [^?]*\?$/;

/**
 * With introspection off, errors do not suggest names either: they would leak
 * the schema one guess at a time. Validation errors and the variable errors of
 * execution alike (GraphQL Armor's block-field-suggestions covers only
 * validation, and misses graphql-js's "Did you mean the enum value …").
 */
function useHiddenSuggestions(): Plugin {
  const hide = (errors: readonly Error[] | undefined) => {
    for (const error of errors ?? []) if (SUGGESTION.test(error.message)) error.message = error.message.replace(SUGGESTION, '');
  };
  const hideIn = (result: unknown) => {
    if (!isAsyncIterable(result)) hide((result as ExecutionResult).errors);
  };
  return {
    onValidate: () => ({ result }) => hide(result),
    onExecute: () => ({ onExecuteDone: ({ result }) => hideIn(result) }),
    onSubscribe: () => ({ onSubscribeResult: ({ result }) => hideIn(result) }),
  };
}
