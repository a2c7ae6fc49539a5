import {
  Kind,
  OperationTypeNode,
  visit,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionNode,
  type VariableDefinitionNode,
} from 'graphql';

const name = (value: string) => ({ kind: Kind.NAME, value }) as const;
const variable = (value: string) => ({ kind: Kind.VARIABLE, name: name(value) }) as const;
const namedType = (value: string) => ({ kind: Kind.NAMED_TYPE, name: name(value) }) as const;
const field = (fieldName: string, args: FieldNode['arguments'] = [], selections?: readonly SelectionNode[]): FieldNode => ({
  kind: Kind.FIELD,
  name: name(fieldName),
  arguments: args,
  ...(selections ? { selectionSet: { kind: Kind.SELECTION_SET, selections } } : {}),
});

/** The operation a document runs (the named one, or its only one). */
export function operationOf(document: DocumentNode, operationName?: string | null): OperationDefinitionNode {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  if (!operation) {
    throw new Error(operationName ? `the document has no operation named "${operationName}"` : `expected a document with exactly one operation, but it has ${operations.length}`);
  }
  return operation;
}

export function isSubscription(document: DocumentNode, operationName?: string | null): boolean {
  return operationOf(document, operationName).operation === OperationTypeNode.SUBSCRIPTION;
}

/**
 * How to resume one messageAdded subscription: its document, made to take the
 * resume point as a variable, and where in the variables and the results the
 * SDK finds what it needs.
 */
export interface ResumePlan {
  /** The subscription, with an `after: $<afterVariable>` argument and `id`, `seq` selected. */
  document: DocumentNode;
  afterVariable: string;
  /** The `after` the app gave, when it wrote it inline. */
  inlineAfter: string | null;
  /** Where the message is in `data` (the field's alias, or messageAdded). */
  responseKey: string;
  roomId(variables: Record<string, unknown>): string | null;
  /** The room's history with the subscription's own selection: for catching up on a room that was empty. */
  history: DocumentNode;
}

const RESUME_VARIABLE = 'sdkResumeAfter';

/**
 * A plan when the document subscribes to messageAdded (and nothing else),
 * null for any other document.
 */
export function planResume(document: DocumentNode, operationName?: string | null): ResumePlan | null {
  const operation = operationOf(document, operationName);
  if (operation.operation !== OperationTypeNode.SUBSCRIPTION) return null;
  const [root, ...others] = operation.selectionSet.selections;
  if (!root || others.length > 0 || root.kind !== Kind.FIELD || root.name.value !== 'messageAdded') return null;

  const afterArgument = root.arguments?.find((a) => a.name.value === 'after');
  let afterVariable = RESUME_VARIABLE;
  let inlineAfter: string | null = null;
  let variableDefinitions: readonly VariableDefinitionNode[] = operation.variableDefinitions ?? [];
  let args = root.arguments ?? [];
  if (afterArgument?.value.kind === Kind.VARIABLE) {
    afterVariable = afterArgument.value.name.value;
  } else {
    if (afterArgument?.value.kind === Kind.STRING) inlineAfter = afterArgument.value.value;
    args = [...args.filter((a) => a !== afterArgument), { kind: Kind.ARGUMENT, name: name('after'), value: variable(RESUME_VARIABLE) }];
    variableDefinitions = [...variableDefinitions, { kind: Kind.VARIABLE_DEFINITION, variable: variable(RESUME_VARIABLE), type: namedType('ID') }];
  }

  const selections = root.selectionSet?.selections ?? [];
  const has = (key: string) => selections.some((s) => s.kind === Kind.FIELD && (s.alias?.value ?? s.name.value) === key);
  const withKeys = [...selections, ...(has('id') ? [] : [field('id')]), ...(has('seq') ? [] : [field('seq')])];
  const resumable: FieldNode = { ...root, arguments: args, selectionSet: { kind: Kind.SELECTION_SET, selections: withKeys } };
  const fragments = document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION);
  const roomArgument = root.arguments?.find((a) => a.name.value === 'roomId')?.value;

  return {
    document: {
      ...document,
      definitions: [{ ...operation, variableDefinitions, selectionSet: { kind: Kind.SELECTION_SET, selections: [resumable] } }, ...fragments],
    },
    afterVariable,
    inlineAfter,
    responseKey: root.alias?.value ?? 'messageAdded',
    roomId(variables) {
      if (roomArgument?.kind === Kind.STRING) return roomArgument.value;
      if (roomArgument?.kind === Kind.VARIABLE) {
        const value = variables[roomArgument.name.value];
        return typeof value === 'string' ? value : null;
      }
      return null;
    },
    history: historyDocument(operation, resumable, fragments),
  };
}

/**
 * `messages(roomId:, last: 100, before:)` with the subscription's selection,
 * and the operation's variables that selection uses.
 */
function historyDocument(operation: OperationDefinitionNode, resumable: FieldNode, fragments: FragmentDefinitionNode[]): DocumentNode {
  const used = new Set<string>();
  const selection = { kind: Kind.SELECTION_SET, selections: resumable.selectionSet!.selections } as const;
  for (const node of [selection, ...fragments]) {
    visit(node, { Variable: (v) => void used.add(v.name.value) });
  }
  const kept = (operation.variableDefinitions ?? []).filter((d) => used.has(d.variable.name.value));
  const messages = field(
    'messages',
    [
      { kind: Kind.ARGUMENT, name: name('roomId'), value: variable('sdkRoomId') },
      { kind: Kind.ARGUMENT, name: name('last'), value: { kind: Kind.INT, value: '100' } },
      { kind: Kind.ARGUMENT, name: name('before'), value: variable('sdkBefore') },
    ],
    [
      field('edges', [], [field('node', [], selection.selections)]),
      field('pageInfo', [], [field('hasPreviousPage'), field('startCursor')]),
    ],
  );
  return {
    kind: Kind.DOCUMENT,
    definitions: [
      {
        kind: Kind.OPERATION_DEFINITION,
        operation: OperationTypeNode.QUERY,
        name: name('SdkCatchUp'),
        variableDefinitions: [
          { kind: Kind.VARIABLE_DEFINITION, variable: variable('sdkRoomId'), type: { kind: Kind.NON_NULL_TYPE, type: namedType('ID') } },
          { kind: Kind.VARIABLE_DEFINITION, variable: variable('sdkBefore'), type: namedType('String') },
          ...kept,
        ],
        selectionSet: { kind: Kind.SELECTION_SET, selections: [messages] },
      },
      ...fragments,
    ],
  };
}
