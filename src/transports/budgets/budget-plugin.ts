import {
  getOperationAST,
  Kind,
  locatedError,
  valueFromASTUntyped,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { appError } from '../../errors.js';
import type { Budget, BudgetStore } from '../../infrastructure/rate-limit/budget-store.js';
import type { Context } from '../../schema/context.js';
import type { ErrorPolicy } from '../error-policy.js';
import { budgetAddress } from './client-ip.js';
import { OPERATION_BUDGETS, type BudgetKey, type OperationBudgetName, type Rate, type RateLimitsConfig } from './budgets.config.js';

export interface RateBudgetOptions {
  store: BudgetStore;
  limits: RateLimitsConfig;
  errorPolicy: ErrorPolicy;
  /** Told of each refusal, by budget name (`sendMessageUser`…), for the metrics. */
  onRefused?: (rule: string) => void;
}

interface Rule {
  name: OperationBudgetName;
  key: BudgetKey;
  rate: Rate;
  budget: Budget;
}

/**
 * The rate budgets, once for every transport: a pipeline plugin that, before
 * any resolver runs, spends one point per budgeted root field the operation
 * selects (each alias counts) from each of that field's budgets, and refuses
 * the whole operation when one is spent: RATE_LIMITED with
 * `extensions.retryAfterSeconds`, nothing stored. Operations without a
 * budgeted field (queries, messageAdded) pass at once, without waiting for
 * anything; nothing here runs per delivery.
 */
export function useRateBudgets(options: RateBudgetOptions): Plugin {
  const { store, limits, errorPolicy } = options;
  const rules = new Map<string, Rule[]>();
  for (const [name, definition] of Object.entries(OPERATION_BUDGETS) as [OperationBudgetName, (typeof OPERATION_BUDGETS)[OperationBudgetName]][]) {
    const rate = limits.operations[name];
    const rule: Rule = { name, key: definition.key, rate, budget: store.budget(name, rate) };
    rules.set(definition.field, [...(rules.get(definition.field) ?? []), rule]);
  }

  async function refusal(args: ExecutionArgs, fields: FieldNode[], kind: 'execute' | 'subscribe'): Promise<ExecutionResult | null> {
    const context = args.contextValue as Context;
    // What each budget is asked for, in the rules' order: key -> points.
    const asks = new Map<Rule, Map<string, { points: number; field: FieldNode }>>();
    for (const field of fields) {
      for (const rule of rules.get(field.name.value)!) {
        const key = await keyOf(rule.key, context, field, args.variableValues);
        // No user (the resolver answers UNAUTHENTICATED) or no room named (validation's): nothing to count.
        if (key === null) continue;
        const perKey = asks.get(rule) ?? new Map<string, { points: number; field: FieldNode }>();
        const ask = perKey.get(key) ?? { points: 0, field };
        ask.points += 1;
        perKey.set(key, ask);
        asks.set(rule, perKey);
      }
    }
    for (const [rule, perKey] of asks) {
      for (const [key, { points, field }] of perKey) {
        const spend = await rule.budget.spend(key, points);
        if (spend.granted) continue;
        options.onRefused?.(rule.name);
        const retryAfterSeconds = Math.max(1, Math.ceil(spend.retryAfterMs / 1000));
        const error = appError('RATE_LIMITED', `${describe(rule)}; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
        // Plugins after this one do not run for a refused operation, the error policy included: code it here.
        const errors = [errorPolicy.forClient(locatedError(error, [field], [field.alias?.value ?? field.name.value]))];
        return kind === 'execute' ? { data: null, errors } : { errors };
      }
    }
    return null;
  }

  const check =
    (kind: 'execute' | 'subscribe') =>
    ({ args, setResultAndStopExecution }: { args: ExecutionArgs; setResultAndStopExecution: (result: ExecutionResult) => void }) => {
      const fields = budgetedFields(args, rules);
      if (fields.length === 0) return;
      return refusal(args, fields, kind).then((result) => {
        if (result) setResultAndStopExecution(result);
      });
    };

  return { onExecute: check('execute'), onSubscribe: check('subscribe') };
}

/** The budget plugin when RATE_LIMITS is on; none when off. */
export function rateBudgetPlugins(
  config: { rateLimits: RateLimitsConfig | null },
  options: Omit<RateBudgetOptions, 'limits'>,
): Plugin[] {
  return config.rateLimits ? [useRateBudgets({ ...options, limits: config.rateLimits })] : [];
}

async function keyOf(key: BudgetKey, context: Context, field: FieldNode, variables: ExecutionArgs['variableValues']): Promise<string | null> {
  if (key === 'ip') return budgetAddress(context.clientIp);
  if (key === 'user') return (await context.viewer()).user?.id ?? null;
  // 'room': sendMessage(input: { roomId }).
  const input = field.arguments?.find((argument) => argument.name.value === 'input');
  const value = input ? (valueFromASTUntyped(input.value, variables ?? undefined) as { roomId?: unknown } | null) : null;
  return typeof value?.roomId === 'string' ? value.roomId : null;
}

function describe(rule: Rule): string {
  const field = OPERATION_BUDGETS[rule.name].field;
  const per = { user: 'per user', ip: 'per address', room: 'per room' }[rule.key];
  const every = 1 / rule.rate.perSecond;
  const pace = every >= 1 ? `one every ${Number(every.toFixed(1))} s` : `${rule.rate.perSecond} a second`;
  return `too many ${field} ${per}: ${rule.rate.burst} at once, then ${pace}`;
}

/** Every selection of a budgeted root field (aliases each count), fragments followed; none for a query. */
function budgetedFields(args: ExecutionArgs, rules: ReadonlyMap<string, Rule[]>): FieldNode[] {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation || operation.operation === 'query') return [];
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of args.document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const found: FieldNode[] = [];
  const seen = new Set<string>();
  const search = (selectionSet: SelectionSetNode): void => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (rules.has(selection.name.value)) found.push(selection);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        search(selection.selectionSet);
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) search(fragment.selectionSet);
      }
    }
  };
  search(operation.selectionSet);
  return found;
}
