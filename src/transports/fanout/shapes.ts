import { execute, type ExecutionArgs, type ExecutionResult, type GraphQLError } from 'graphql';
import type { Message } from '../../messages/message.js';

/**
 * What a shared rendering may see as its context: nothing. Render-safe fields
 * read no context, and one that starts to would otherwise render one viewer's
 * answer for everybody; this fails it loudly instead.
 */
export const NO_CONTEXT: unknown = new Proxy(
  {},
  {
    get(_target, property) {
      throw new Error(`a fan-out rendering read context.${String(property)}: the field is not render-safe (transports/fanout/render-safe-fields.ts)`);
    },
  },
);

/** `<payload JSON>}`: the tail of a `next` message, after each subscriber's own prefix. */
export type RenderedTail = Buffer;

/**
 * One way of rendering events (messages, typing updates), shared by every
 * subscriber whose operation renders alike. The first of them to receive an
 * event renders it; the rest reuse the bytes.
 */
export class Shape {
  members = 0;

  constructor(
    readonly key: string,
    private readonly args: ExecutionArgs,
    private readonly registry: ShapeRegistry,
  ) {}

  /** One subscriber less (each acquire() is ended by one release()); the registry drops the shape with its last. */
  release(): void {
    this.registry.release(this);
  }

  render(message: Message): RenderedTail {
    return Buffer.from(`${JSON.stringify(this.payloadOf(message))}}`);
  }

  /** The `next` payload for one event: the execution's data, and its errors as the client may see them. */
  payloadOf(event: unknown): { data: ExecutionResult['data']; errors?: unknown[] } {
    const result = execute({ ...this.args, contextValue: NO_CONTEXT, rootValue: event });
    // Render-safe fields resolve synchronously (everything travels with the event), so execute() does too.
    if (result instanceof Promise) throw new Error('a fan-out rendering returned a promise: a selected field is not render-safe');
    return result.errors ? { data: result.data, errors: this.registry.errorsForClient(result.errors) } : { data: result.data };
  }
}

/** Shapes in use, shared across sockets and rooms, dropped when their last subscriber leaves. */
export class ShapeRegistry {
  private readonly shapes = new Map<string, Shape>();

  constructor(readonly errorsForClient: (errors: readonly GraphQLError[]) => unknown[]) {}

  acquire(key: string, args: ExecutionArgs): Shape {
    let shape = this.shapes.get(key);
    if (!shape) {
      // Only what rendering needs: not the subscriber's context, root or resume point.
      const renderArgs: ExecutionArgs = { schema: args.schema, document: args.document, operationName: args.operationName, variableValues: args.variableValues };
      this.shapes.set(key, (shape = new Shape(key, renderArgs, this)));
    }
    shape.members++;
    return shape;
  }

  release(shape: Shape): void {
    if (--shape.members === 0 && this.shapes.get(shape.key) === shape) this.shapes.delete(shape.key);
  }

  get size(): number {
    return this.shapes.size;
  }
}
