import {
  getNamedType,
  GraphQLError,
  isInterfaceType,
  isObjectType,
  Kind,
  OperationTypeNode,
  type FieldNode,
  type GraphQLField,
  type GraphQLNamedType,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

/** Every paged field of the schema (rooms, directRooms, messages, participants) takes at most this many. */
export const PAGE_SIZE_MAX = 100;
const PAGE_ARGUMENTS = new Set(['first', 'last']);
const INTROSPECTION_ROOTS = new Set(['__schema', '__type']);

/**
 * The cost of an operation: the fields it may resolve, each paged field's
 * selection multiplied by its page size. A page size written as a literal
 * counts as written (at most PAGE_SIZE_MAX); one given by a variable, or left
 * to the default, counts as PAGE_SIZE_MAX, since validation (cached per
 * document) cannot see variables. So `rooms(first: 100) { … messages(last: 100) }`
 * costs 100 × 100 × its message fields, and 1,000 aliases of a history page
 * a thousand pages, whichever way the sizes are sent. (GraphQL Armor's
 * cost-limit multiplies only by literals, which a variable walks around.)
 * Introspection is not counted: GRAPHQL_INTROSPECTION governs it.
 */
export function costRule(maxCost: number): ValidationRule {
  return (context) => ({
    OperationDefinition(operation) {
      const root = context.getSchema().getRootType(operation.operation) ?? undefined;
      const cost = new CostCounter(context).selections(root, operation.selectionSet);
      if (cost > maxCost) {
        const found = cost < 1e15 ? String(cost) : 'far more';
        context.reportError(new GraphQLError(`Query cost limit of ${maxCost} exceeded, found ${found}.`, { nodes: [operation] }));
      }
    },
  });
}

class CostCounter {
  private readonly fragments = new Map<string, number>();
  private readonly visiting = new Set<string>();

  constructor(private readonly context: ValidationContext) {}

  selections(parent: GraphQLNamedType | undefined, set: SelectionSetNode): number {
    let cost = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (INTROSPECTION_ROOTS.has(selection.name.value)) continue;
        const field = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[selection.name.value] : undefined;
        const children = selection.selectionSet && field ? this.selections(getNamedType(field.type), selection.selectionSet) : 0;
        cost += 1 + (field ? pageSize(field, selection) : 1) * children;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? this.context.getSchema().getType(selection.typeCondition.name.value) : parent;
        cost += this.selections(type ?? undefined, selection.selectionSet);
      } else {
        cost += this.fragment(selection.name.value);
      }
    }
    return cost;
  }

  private fragment(name: string): number {
    // A cycle is NoFragmentCyclesRule's to report; here it adds nothing more.
    if (this.visiting.has(name)) return 0;
    let cost = this.fragments.get(name);
    if (cost === undefined) {
      const fragment = this.context.getFragment(name);
      this.visiting.add(name);
      cost = fragment ? this.selections(this.context.getSchema().getType(fragment.typeCondition.name.value) ?? undefined, fragment.selectionSet) : 0;
      this.visiting.delete(name);
      this.fragments.set(name, cost);
    }
    return cost;
  }
}

/** 1 for a field that is not paged; otherwise its page size as the operation can ask for it. */
function pageSize(field: GraphQLField<unknown, unknown>, node: FieldNode): number {
  if (!field.args.some((arg) => PAGE_ARGUMENTS.has(arg.name))) return 1;
  const given = node.arguments?.find((arg) => PAGE_ARGUMENTS.has(arg.name.value));
  if (given?.value.kind === Kind.INT) return Math.min(Math.max(Number(given.value.value), 0), PAGE_SIZE_MAX);
  return PAGE_SIZE_MAX;
}

/**
 * At most `max` root fields in one mutation (distinct response keys, fragments
 * expanded): each is a write, run one after another, so this bounds the writes
 * one request can ask for; aliases are bounded separately.
 */
export function mutationFieldsRule(max: number): ValidationRule {
  return (context) => ({
    OperationDefinition(operation) {
      if (operation.operation !== OperationTypeNode.MUTATION) return;
      const keys = new Set<string>();
      collectRootKeys(context, operation.selectionSet, keys, new Set());
      if (keys.size > max) {
        context.reportError(new GraphQLError(`Mutation fields limit of ${max} exceeded, found ${keys.size}.`, { nodes: [operation] }));
      }
    },
  });
}

function collectRootKeys(context: ValidationContext, set: SelectionSetNode, keys: Set<string>, seen: Set<string>): void {
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value !== '__typename') keys.add(selection.alias?.value ?? selection.name.value);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      collectRootKeys(context, selection.selectionSet, keys, seen);
    } else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = context.getFragment(selection.name.value);
      if (fragment) collectRootKeys(context, fragment.selectionSet, keys, seen);
    }
  }
}
