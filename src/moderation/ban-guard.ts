import { getOperationAST, Kind, locatedError, type ExecutionArgs, type ExecutionResult, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../schema/context.js';
import type { ErrorPolicy } from '../transports/error-policy.js';
import type { BanService } from './ban.service.js';

/**
 * The root fields a banned user may not run: every write the contract lists
 * under banUser (send messages, create rooms, open direct rooms, type, wait
 * for a match). Reading, reporting and renewing a token stay open.
 */
export const BANNED_FIELDS: ReadonlySet<string> = new Set(['sendMessage', 'createRoom', 'openDirectRoom', 'setTyping', 'matchFound']);

export interface BanGuardOptions {
  bans: BanService;
  errorPolicy: ErrorPolicy;
}

/**
 * Bans, enforced once for every transport: a pipeline plugin that refuses an
 * operation selecting any of BANNED_FIELDS for a banned viewer, before it runs
 * (FORBIDDEN, nothing stored; a subscription gets the error before any event).
 * The fields' own resolvers know nothing of bans. Operations without such a
 * field pass untouched and without waiting for anything.
 */
export function useBanGuard(options: BanGuardOptions): Plugin {
  const { bans, errorPolicy } = options;

  async function refusal(args: ExecutionArgs, fieldKey: string, kind: 'execute' | 'subscribe'): Promise<ExecutionResult | null> {
    try {
      // No user: the field's resolver answers UNAUTHENTICATED, as it would without bans.
      const { user } = await (args.contextValue as Context).viewer();
      if (user) await bans.requireNotBanned(user);
      return null;
    } catch (error) {
      const located = locatedError(error, undefined, [fieldKey]);
      // Plugins after this one do not run for a refused operation, the error policy included: code or mask it here.
      const errors = [errorPolicy.forClient(located)];
      return kind === 'execute' ? { data: null, errors } : { errors };
    }
  }

  const guard =
    (kind: 'execute' | 'subscribe') =>
    ({ args, setResultAndStopExecution }: { args: ExecutionArgs; setResultAndStopExecution: (result: ExecutionResult) => void }) => {
      const fieldKey = firstBannedField(args);
      if (fieldKey === null) return;
      return refusal(args, fieldKey, kind).then((result) => {
        if (result) setResultAndStopExecution(result);
      });
    };

  return { onExecute: guard('execute'), onSubscribe: guard('subscribe') };
}

/** The response key (alias or name) of the first banned root field the operation selects, or null. */
function firstBannedField(args: ExecutionArgs): string | null {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation || operation.operation === 'query') return null;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of args.document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  // Root fields may sit in fragments (`mutation { ...Send }`): follow them, each once.
  const seen = new Set<string>();
  const search = (selectionSet: SelectionSetNode): string | null => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (BANNED_FIELDS.has(selection.name.value)) return selection.alias?.value ?? selection.name.value;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const found = search(selection.selectionSet);
        if (found) return found;
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        const found = fragment ? search(fragment.selectionSet) : null;
        if (found) return found;
      }
    }
    return null;
  };
  return search(operation.selectionSet);
}
