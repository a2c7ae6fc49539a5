import { pino } from 'pino';
import { userOf, type User } from '../../src/identity/user.js';
import type { Listener, Unsubscribe } from '../../src/infrastructure/pubsub/pubsub.js';
import type { Logger } from '../../src/logger.js';
import type { Message } from '../../src/messages/message.js';
import type { ChatPubSub, Topics } from '../../src/topics.js';
import { deferred } from './wait.js';

/**
 * In-memory stand-ins for what the domain logic runs on (the pub/sub, the
 * message store), for unit tests of that logic without a network or a database.
 */

export const silentLogger: Logger = pino({ level: 'silent' });

/**
 * Lets every callback already queued on settled promises run. The fakes never
 * wait on a timer, so after this nothing more happens until the test acts again.
 */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export const ALICE: User = userOf('user-alice', 'Alice', '0001');
export const BOB: User = userOf('user-bob', 'Bob', '0002');

/** A stored message of `roomId` at `seq`. */
export function messageAt(seq: number, roomId = 'room-1', sender: User = ALICE): Message {
  return { id: `${roomId}/m${seq}`, roomId, seq, sender, body: `message ${seq}`, createdAt: new Date(0).toISOString(), clientMessageId: null };
}

type Channel = { [T in keyof Topics]: { topic: T; key: string; listener: Listener<Topics[T]> } }[keyof Topics];

/**
 * A ChatPubSub whose events the test pushes by hand. It records every
 * subscription and whether it was released, and fires onResync on demand.
 */
export class FakePubSub implements ChatPubSub {
  readonly subscriptions: (Channel & { active: boolean })[] = [];
  private readonly resyncListeners: (() => void)[] = [];

  /** The subscriptions of a channel that have not been released. */
  active(topic: keyof Topics, key: string): number {
    return this.subscriptions.filter((s) => s.active && s.topic === topic && s.key === key).length;
  }

  /** Delivers `payload` to the channel's live listeners, as a link from another instance would. */
  emit<T extends keyof Topics>(topic: T, key: string, payload: Topics[T]): void {
    for (const subscription of this.subscriptions) {
      if (subscription.active && subscription.topic === topic && subscription.key === key) (subscription.listener as Listener<Topics[T]>)(payload);
    }
  }

  /** The link came back after an outage: every onResync listener runs. */
  resync(): void {
    for (const listener of this.resyncListeners) listener();
  }

  async publish<T extends keyof Topics & string>(topic: T, key: string, payload: Topics[T]): Promise<void> {
    this.emit(topic, key, payload);
  }

  async subscribe<T extends keyof Topics & string>(topic: T, key: string, listener: Listener<Topics[T]>): Promise<Unsubscribe> {
    const subscription = { topic, key, listener, active: true } as Channel & { active: boolean };
    this.subscriptions.push(subscription);
    return async () => {
      subscription.active = false;
    };
  }

  onResync(listener: () => void): void {
    this.resyncListeners.push(listener);
  }

  async close(): Promise<void> {
    for (const subscription of this.subscriptions) subscription.active = false;
  }
}

/**
 * One call of a fake's method held back until the test releases it: the
 * answer is computed when the call is made (a read that has happened but whose
 * answer is still on the way) and handed over on release.
 */
export interface HeldCall {
  /** Resolves when the held call has been made. */
  called: Promise<void>;
  release(): void;
  /** Makes the held call fail with `error` instead. */
  fail(error: unknown): void;
}

/** Holds the calls of one method, one HeldCall per call in turn. */
export class CallGate {
  private readonly held: { called: ReturnType<typeof deferred<void>>; answer: ReturnType<typeof deferred<void>> }[] = [];

  /** Holds the next call not yet held. */
  hold(): HeldCall {
    const entry = { called: deferred<void>(), answer: deferred<void>() };
    this.held.push(entry);
    return { called: entry.called.promise, release: () => entry.answer.resolve(), fail: (error) => entry.answer.reject(error) };
  }

  /** Runs a call: waits for release when a hold is pending, else answers at once. */
  async pass<T>(answer: T): Promise<T> {
    const entry = this.held.shift();
    if (!entry) return answer;
    entry.called.resolve();
    await entry.answer.promise;
    return answer;
  }
}
