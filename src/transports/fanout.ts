import {
  execute,
  getOperationAST,
  GraphQLError,
  Kind,
  print,
  visit,
  type ASTNode,
  type DocumentNode,
  type ExecutionArgs,
  type FieldNode,
} from 'graphql';
import { getArgumentValues, getVariableValues } from 'graphql/execution/values.js';
import type { WebSocket } from 'ws';
import type { FeedMember } from '../messages/message.feed.js';
import type { Message } from '../messages/message.js';
import { CloseCode } from './close-codes.js';

/**
 * The fan-out fast path for `messageAdded` over WebSocket.
 *
 * A stock server executes and serialises every event once per subscriber. Here
 * subscribers whose operations render a message the same way share a Shape: the
 * first of them to receive a message executes and serialises it, the rest reuse
 * the bytes, and each socket gets them behind its own precomputed
 * `{"id":…,"type":"next","payload":` prefix. No per-subscriber promise, no
 * per-subscriber execution, no per-subscriber JSON.stringify.
 */

/** What a messageAdded operation asks for, read at subscribe time. */
export interface MessageAddedPlan {
  roomId: string;
  after: string | null;
  /** Identifies the rendering: same key, same bytes for the same message. */
  shapeKey: string;
}

/**
 * Recognises an operation whose only root field is `messageAdded`. Returns null
 * for anything else (it then takes the general path), or errors for variables
 * that do not coerce.
 */
export function planMessageAdded(args: ExecutionArgs): MessageAddedPlan | readonly GraphQLError[] | null {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation || operation.operation !== 'subscription') return null;
  const selections = operation.selectionSet.selections;
  const field = selections[0];
  if (selections.length !== 1 || field?.kind !== Kind.FIELD || field.name.value !== 'messageAdded' || field.directives?.length) return null;
  const fieldDef = args.schema.getSubscriptionType()?.getFields().messageAdded;
  if (!fieldDef) return null;
  const variables = getVariableValues(args.schema, operation.variableDefinitions ?? [], args.variableValues ?? {});
  if (variables.errors) return variables.errors;
  const values = getArgumentValues(fieldDef, field, variables.coerced);
  // The root field's own arguments pick the stream, not the rendering; only variables used below it matter.
  const renderVariables: Record<string, unknown> = {};
  for (const name of variablesUsedBelow(field, args.document)) renderVariables[name] = variables.coerced[name];
  return {
    roomId: String(values.roomId),
    after: values.after == null ? null : String(values.after),
    // A document parsed without locations has no source text; printing it keeps distinct documents apart.
    shapeKey: `${args.operationName ?? ''}\u0000${args.document.loc?.source.body ?? print(args.document)}\u0000${JSON.stringify(renderVariables)}`,
  };
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

/**
 * One way of rendering messages. Renders each message at most once, however
 * many sockets share the shape (the feed's per-message `shared` map holds the bytes).
 */
export class Shape {
  members = 0;

  constructor(
    readonly key: string,
    private readonly args: ExecutionArgs,
    private readonly maskErrors: (errors: readonly GraphQLError[]) => unknown[],
  ) {}

  /** `<payload JSON>}`: the tail of a `next` message, after the per-socket prefix. */
  render(message: Message): Buffer {
    const result = execute({ ...this.args, rootValue: message });
    // Message fields resolve synchronously (the sender travels with the message), so execute() does too.
    if (result instanceof Promise) throw new Error('messageAdded rendering must be synchronous');
    const payload = result.errors ? { data: result.data, errors: this.maskErrors(result.errors) } : { data: result.data };
    return Buffer.from(`${JSON.stringify(payload)}}`);
  }
}

/** Shapes in use, shared across sockets and rooms, dropped when their last subscriber leaves. */
export class ShapeRegistry {
  private readonly shapes = new Map<string, Shape>();

  constructor(private readonly maskErrors: (errors: readonly GraphQLError[]) => unknown[]) {}

  acquire(key: string, args: ExecutionArgs): Shape {
    let shape = this.shapes.get(key);
    if (!shape) this.shapes.set(key, (shape = new Shape(key, { ...args, rootValue: undefined }, this.maskErrors)));
    shape.members++;
    return shape;
  }

  release(shape: Shape): void {
    if (--shape.members === 0 && this.shapes.get(shape.key) === shape) this.shapes.delete(shape.key);
  }
}

/** graphql-transport-ws speaks text frames; one options object for every send, not one per send. */
const TEXT_FRAME = { binary: false } as const;

/** How long a socket closed as a slow consumer has to read its backlog and the close frame. */
const SLOW_CONSUMER_GRACE_MS = 10_000;

/** One subscription on one socket, fed straight from the room's feed. */
export class SocketMember implements FeedMember {
  lastSeq = 0;
  private readonly prefix: Buffer;

  constructor(
    private readonly socket: WebSocket,
    subscriptionId: string,
    private readonly shape: Shape,
    private readonly maxBufferedBytes: number,
  ) {
    this.prefix = Buffer.from(`{"id":${JSON.stringify(subscriptionId)},"type":"next","payload":`);
  }

  deliver(message: Message, shared: Map<unknown, unknown>): void {
    const socket = this.socket;
    if (socket.readyState !== socket.OPEN) return;
    // A socket that stopped reading must not hold the others back or grow without bound.
    if (socket.bufferedAmount > this.maxBufferedBytes) {
      socket.close(CloseCode.SlowConsumer, 'slow consumer');
      // The close frame waits behind the unread bytes; a peer that never reads them is cut off
      // after a grace period rather than holding its buffers (and its place in presence) longer.
      setTimeout(() => socket.terminate(), SLOW_CONSUMER_GRACE_MS).unref();
      return;
    }
    let tail = shared.get(this.shape) as Buffer | undefined;
    if (!tail) shared.set(this.shape, (tail = this.shape.render(message)));
    socket.send(Buffer.concat([this.prefix, tail], this.prefix.length + tail.length), TEXT_FRAME);
  }
}

/**
 * What graphql-ws holds for a fast-path subscription: an iterator that yields
 * nothing (messages go straight to the socket) and ends when graphql-ws returns
 * it (the client completed, or the socket closed). Lighter than a queue: one
 * pending promise per subscription.
 */
export class HeldSubscription implements AsyncIterableIterator<never> {
  private finish: ((result: IteratorResult<never>) => void) | null = null;
  private readonly cleanups: (() => void)[] = [];
  private ended = false;

  /** Runs when the subscription ends; at once if it already has. */
  onEnd(cleanup: () => void): void {
    if (this.ended) cleanup();
    else this.cleanups.push(cleanup);
  }

  next(): Promise<IteratorResult<never>> {
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.finish = resolve));
  }

  return(): Promise<IteratorResult<never>> {
    if (!this.ended) {
      this.ended = true;
      for (const cleanup of this.cleanups.splice(0)) cleanup();
      this.finish?.({ value: undefined, done: true });
      this.finish = null;
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<never>> {
    void this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
