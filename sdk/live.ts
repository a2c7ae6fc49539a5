import { print, type DocumentNode, type FormattedExecutionResult } from 'graphql';
import { planResume, type ResumePlan } from './documents.js';
import { isGraphQLErrorList } from './errors.js';
import type { GraphQLPayload, Sink } from './http.js';

/** Where a live operation's events come from right now: the open socket, or SSE. */
export interface Transport {
  subscribe(payload: GraphQLPayload, sink: Sink<FormattedExecutionResult>): () => void;
}

/** What a live operation asks of the connection that carries it. */
export interface LiveHost {
  /** The stream broke for a reason that is not the server's answer (network, socket): resume it later. */
  lost(operation: LiveOperation): void;
  /** The server said UNAUTHENTICATED: get a usable token, then resume it. */
  authRejected(operation: LiveOperation): void;
  /** It ended for good (completed, or failed with the server's errors). */
  ended(operation: LiveOperation): void;
  /**
   * An HTTP query with the viewer's token (resume points, catching up). A
   * resume point is taken before any mutation the app sends after subscribing,
   * so "subscribe, then send" always delivers what was sent.
   */
  query(document: DocumentNode | string, variables: Record<string, unknown>, resumePoint?: boolean): Promise<FormattedExecutionResult>;
}

const RESUME_POINT = 'query SdkResumePoint($roomId: ID!) { messages(roomId: $roomId, last: 1) { edges { node { id seq } } } }';
/** At most this many history pages (of 100) to fill one gap. */
const FILL_PAGES = 20;
/**
 * A subscription that started in an empty room cannot ask for "after the
 * start": it looks in the history once, this long after subscribing, for a
 * message the server published before the subscription was live.
 */
export const EMPTY_ROOM_CHECK_MS = 1_000;

interface Delivered {
  id: string;
  seq: number;
}

type Deliver = (result: FormattedExecutionResult) => void;

/**
 * The resume point of one messageAdded subscription: the last message it
 * delivered. Every (re)subscribe asks for what comes after it, anything at or
 * below its seq is dropped (no duplicate), and since seq has no gaps, a
 * message past the next seq means some were missed: those are fetched from
 * the history and delivered first, in order (no gap).
 */
class MessageCursor {
  lastId: string | null;
  /** null: not known yet (the app's `after`, until the first event). 0: the room was empty. */
  private lastSeq: number | null = null;
  private prepared: boolean;
  private preparing: Promise<void> | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly plan: ResumePlan,
    private readonly variables: Record<string, unknown>,
  ) {
    const given = variables[plan.afterVariable];
    this.lastId = typeof given === 'string' ? given : plan.inlineAfter;
    this.prepared = this.lastId !== null;
  }

  variablesNow(): Record<string, unknown> {
    return { ...this.variables, [this.plan.afterVariable]: this.lastId };
  }

  /** Nothing delivered yet, in a room that was empty when the subscription began. */
  get waitingInEmptyRoom(): boolean {
    return this.lastSeq === 0;
  }

  /**
   * For a subscription without `after`: the room's newest message when the app
   * subscribed becomes its resume point (seq 0 for an empty room), so what
   * comes after it is delivered even if the socket connects later, and a
   * reconnect before its first event still misses nothing. Asked once, when
   * the app subscribes; tried again on attach if that failed.
   */
  prepare(host: LiveHost): Promise<void> {
    if (this.prepared) return Promise.resolve();
    return (this.preparing ??= this.resumePoint(host).finally(() => (this.preparing = null)));
  }

  private async resumePoint(host: LiveHost): Promise<void> {
    const roomId = this.plan.roomId(this.variables);
    if (!roomId) return;
    const result = await host.query(RESUME_POINT, { roomId }, true);
    const messages = result.data?.messages as { edges: { node: Delivered }[] } | undefined;
    if (!messages) return;
    const newest = messages.edges.at(-1)?.node;
    this.lastId = newest?.id ?? null;
    this.lastSeq = newest?.seq ?? 0;
    this.prepared = true;
  }

  /** Every event passes here, one at a time, in the order received. */
  receive(result: FormattedExecutionResult, host: LiveHost, deliver: Deliver): void {
    this.queue = this.queue.then(() => this.process(result, host, deliver)).catch(() => {});
  }

  /** Looks in the history for messages after the resume point (see EMPTY_ROOM_CHECK_MS). */
  check(host: LiveHost, deliver: Deliver): void {
    this.queue = this.queue.then(() => this.fill(host, Infinity, deliver)).catch(() => {});
  }

  private async process(result: FormattedExecutionResult, host: LiveHost, deliver: Deliver): Promise<void> {
    const message = result.data?.[this.plan.responseKey] as Delivered | undefined;
    if (!message || typeof message.seq !== 'number') return deliver(result);
    if (this.lastSeq !== null && message.seq <= this.lastSeq) return;
    if (this.lastSeq !== null && message.seq > this.lastSeq + 1) {
      try {
        await this.fill(host, message.seq, deliver);
      } catch {
        // The history is out of reach: the new message is still better shown than held back.
      }
      if (this.lastSeq !== null && message.seq <= this.lastSeq) return;
    }
    this.take(message);
    deliver(result);
  }

  /** The room's messages after lastSeq and before `until`, from its history, delivered in order. */
  private async fill(host: LiveHost, until: number, deliver: Deliver): Promise<void> {
    const from = this.lastSeq;
    const roomId = this.plan.roomId(this.variables);
    if (from === null || !roomId) return;
    const pages: Delivered[][] = [];
    let before: string | null = null;
    for (let page = 0; page < FILL_PAGES; page++) {
      const result = await host.query(this.plan.history, { ...this.variables, sdkRoomId: roomId, sdkBefore: before });
      const messages = result.data?.messages as { edges: { node: Delivered }[]; pageInfo: { hasPreviousPage: boolean; startCursor: string | null } } | undefined;
      if (!messages) return;
      const nodes = messages.edges.map((e) => e.node);
      pages.unshift(nodes);
      const oldest = nodes[0]?.seq;
      if (!messages.pageInfo.hasPreviousPage || !messages.pageInfo.startCursor || oldest === undefined || oldest <= from + 1) break;
      before = messages.pageInfo.startCursor;
    }
    for (const node of pages.flat().sort((a, b) => a.seq - b.seq)) {
      if (node.seq <= (this.lastSeq ?? from) || node.seq >= until) continue;
      this.take(node);
      deliver({ data: { [this.plan.responseKey]: node } });
    }
  }

  private take(message: Delivered): void {
    this.lastSeq = message.seq;
    this.lastId = message.id;
  }
}

/**
 * One subscription the app holds, across every socket (or SSE stream) that
 * carries it: attached when the connection is up, detached when it drops,
 * and each attach subscribes afresh with the variables of that moment.
 */
export class LiveOperation {
  private attempt = 0;
  private stop: (() => void) | null = null;
  private attached = false;
  private finished = false;
  private retriedAuth = false;
  private readonly query: string;
  private readonly cursor: MessageCursor | null;

  constructor(
    private readonly host: LiveHost,
    document: DocumentNode,
    private readonly variables: Record<string, unknown>,
    private readonly operationName: string | null,
    private readonly sink: Sink<FormattedExecutionResult>,
  ) {
    const plan = planResume(document, operationName);
    this.cursor = plan ? new MessageCursor(plan, variables) : null;
    this.query = print(plan?.document ?? document);
    this.cursor?.prepare(host).catch(() => {});
  }

  async attach(transport: Transport): Promise<void> {
    if (this.finished || this.attached) return;
    this.attached = true;
    const attempt = ++this.attempt;
    const current = () => attempt === this.attempt && !this.finished;
    try {
      await this.cursor?.prepare(this.host);
    } catch {
      if (current()) {
        this.detach();
        this.host.lost(this);
      }
      return;
    }
    if (!current()) return;
    this.stop = transport.subscribe(
      { query: this.query, variables: this.cursor?.variablesNow() ?? this.variables, operationName: this.operationName },
      {
        next: (result) => current() && this.deliver(result),
        error: (error) => current() && this.failed(error),
        complete: () => current() && this.complete(),
      },
    );
    if (this.cursor?.waitingInEmptyRoom) {
      const cursor = this.cursor;
      setTimeout(() => current() && cursor.waitingInEmptyRoom && cursor.check(this.host, (result) => this.show(result)), EMPTY_ROOM_CHECK_MS);
    }
  }

  /** The carrier went away; whatever it still sends for this attempt is ignored. */
  detach(): void {
    this.attached = false;
    this.attempt++;
    const stop = this.stop;
    this.stop = null;
    stop?.();
  }

  /** The app unsubscribed. */
  end(): void {
    this.finished = true;
    this.detach();
  }

  private deliver(result: FormattedExecutionResult): void {
    if (result.errors?.length && result.data == null) return this.failed(result.errors);
    this.retriedAuth = false;
    if (this.cursor) this.cursor.receive(result, this.host, (ordered) => this.show(ordered));
    else this.sink.next(result);
  }

  private show(result: FormattedExecutionResult): void {
    if (!this.finished) this.sink.next(result);
  }

  private failed(error: unknown): void {
    if (!isGraphQLErrorList(error)) {
      this.detach();
      return this.host.lost(this);
    }
    if (error[0]?.extensions?.code === 'UNAUTHENTICATED' && !this.retriedAuth) {
      this.retriedAuth = true;
      this.detach();
      return this.host.authRejected(this);
    }
    this.end();
    this.host.ended(this);
    this.sink.error(error);
  }

  private complete(): void {
    this.end();
    this.host.ended(this);
    this.sink.complete();
  }
}
