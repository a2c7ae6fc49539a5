import {
  getNamedType,
  getOperationAST,
  isObjectType,
  Kind,
  print,
  visit,
  type ASTNode,
  type DocumentNode,
  type ExecutionArgs,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type SelectionSetNode,
} from 'graphql';
import { getArgumentValues, getVariableValues } from 'graphql/execution/values.js';
import { RENDER_SAFE_DIRECTIVES, RENDER_SAFE_FIELDS } from './render-safe-fields.js';

/** A subscription the fast path can render once for all its subscribers. */
export interface RenderPlan {
  /** The root field's arguments, coerced: they pick the stream, not the rendering. */
  values: Record<string, unknown>;
  /** Identifies the rendering: same key, same bytes for the same event. */
  shapeKey: string;
}

/** A messageAdded operation the fast path can render once for all its subscribers. */
export interface FanoutPlan {
  roomId: string;
  after: string | null;
  /** Identifies the rendering: same key, same bytes for the same message. */
  shapeKey: string;
}

/** The one root field the message fast path serves. */
export const FANOUT_FIELD = 'messageAdded';

/** The root field the typing fast path serves. */
export const TYPING_FIELD = 'typing';

/** The subscriptions with a fast path (useMessageFanout, useTypingFanout). */
export const FAST_PATH_FIELDS: readonly string[] = [FANOUT_FIELD, TYPING_FIELD];

/** Whether a fast-path plugin will take this operation (the same test each of them makes). */
export function hasFastPath(args: ExecutionArgs): boolean {
  return FAST_PATH_FIELDS.some((field) => planRendering(args, field) !== null);
}

/** A plan for a messageAdded subscription, or null for the general path. */
export function planFanout(args: ExecutionArgs): FanoutPlan | null {
  const plan = planRendering(args, FANOUT_FIELD);
  if (!plan) return null;
  const { roomId, after } = plan.values;
  return { roomId: String(roomId), after: after == null ? null : String(after), shapeKey: plan.shapeKey };
}

/**
 * A plan when the operation is a subscription to `rootField` alone whose
 * every selected field (fragments included) is render-safe; null sends it down
 * the general path (which also reports variables that do not coerce).
 */
export function planRendering(args: ExecutionArgs, rootField: string): RenderPlan | null {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation || operation.operation !== 'subscription') return null;
  const selections = operation.selectionSet.selections;
  const field = selections[0];
  if (selections.length !== 1 || field?.kind !== Kind.FIELD || field.name.value !== rootField || field.directives?.length) return null;
  const fieldDef = args.schema.getSubscriptionType()?.getFields()[rootField];
  if (!fieldDef || !field.selectionSet) return null;
  const eventType = getNamedType(fieldDef.type);
  if (!isObjectType(eventType)) return null;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of args.document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  if (!isRenderSafe(field.selectionSet, eventType, fragments, new Set())) return null;

  const variables = getVariableValues(args.schema, operation.variableDefinitions ?? [], args.variableValues ?? {});
  if (variables.errors) return null;
  const values = getArgumentValues(fieldDef, field, variables.coerced);
  // The root field's own arguments pick the stream, not the rendering; only variables used below it matter.
  const renderVariables: Record<string, unknown> = {};
  for (const name of variablesUsedBelow(field, args.document)) renderVariables[name] = variables.coerced[name];
  return {
    values,
    // A document parsed without locations has no source text; printing it keeps distinct documents apart.
    shapeKey: `${args.operationName ?? ''}\u0000${args.document.loc?.source.body ?? print(args.document)}\u0000${JSON.stringify(renderVariables)}`,
  };
}

/** Every field below is on the allow-list for its type, through fragments and inline fragments. */
function isRenderSafe(
  selectionSet: SelectionSetNode,
  type: GraphQLObjectType,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  visiting: Set<string>,
): boolean {
  const allowed = RENDER_SAFE_FIELDS[type.name];
  if (!allowed) return false;
  for (const selection of selectionSet.selections) {
    if (selection.directives?.some((d) => !RENDER_SAFE_DIRECTIVES.includes(d.name.value))) return false;
    if (selection.kind === Kind.FIELD) {
      const name = selection.name.value;
      if (name === '__typename') continue;
      if (!allowed.includes(name)) return false;
      const child = getNamedType(type.getFields()[name]?.type);
      if (selection.selectionSet) {
        if (!isObjectType(child) || !isRenderSafe(selection.selectionSet, child, fragments, visiting)) return false;
      }
      continue;
    }
    // A fragment on another type (an interface, a union) is not one the list speaks for.
    const condition = selection.kind === Kind.INLINE_FRAGMENT ? selection.typeCondition : fragments.get(selection.name.value)?.typeCondition;
    if (condition && condition.name.value !== type.name) return false;
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (!isRenderSafe(selection.selectionSet, type, fragments, visiting)) return false;
      continue;
    }
    const fragment = fragments.get(selection.name.value);
    // Unknown and cyclic fragments were refused by validation; never recurse on them here.
    if (!fragment || visiting.has(fragment.name.value)) return false;
    visiting.add(fragment.name.value);
    const safe = isRenderSafe(fragment.selectionSet, type, fragments, visiting);
    visiting.delete(fragment.name.value);
    if (!safe) return false;
  }
  return true;
}

function variablesUsedBelow(field: FieldNode, document: DocumentNode): Set<string> {
  const names = new Set<string>();
  const collect = (node: ASTNode | undefined) => {
    if (!node) return;
    visit(node, { Variable: (v) => void names.add(v.name.value) });
  };
  collect(field.selectionSet);
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) collect(definition);
  return names;
}
