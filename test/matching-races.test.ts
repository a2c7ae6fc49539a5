import { describe, expect, it } from 'vitest';
import { forbidden, notFound } from '../src/errors.js';
import { userOf, type User } from '../src/identity/user.js';
import type { Listener, Unsubscribe } from '../src/infrastructure/pubsub/pubsub.js';
import type { MatchQueue } from '../src/matching/match-queue.js';
import { InProcessMatchQueue } from '../src/matching/match-queue.memory.js';
import type { MatchFound, MatchSignal, QueuedWaiter, QueuePlace } from '../src/matching/matching.js';
import { MatchingService, type MatchTiming } from '../src/matching/matching.service.js';
import type { Room } from '../src/rooms/room.js';
import type { ChatPubSub, Topics } from '../src/topics.js';
import { flush, silentLogger } from './helpers/fakes.js';
import { until } from './helpers/wait.js';
import { seededRandom } from './helpers/random.js';

/**
 * The matching handshake between instances, with every step in the test's
 * hands: each instance's queue commands run and answer when the test says (as
 * over one Redis connection: in order), signals between instances arrive when
 * it says (in order per sender and recipient, as Redis pub/sub does), and rooms
 * are made when it says. Two instances, A and B, share one queue.
 */

/** One signal on its way from one instance to another. */
interface InFlightSignal {
  from: string;
  to: string;
  signal: MatchSignal;
}

class Network {
  /** `${from}>${to}` → signals in the order sent. */
  readonly lanes = new Map<string, InFlightSignal[]>();
  readonly listeners = new Map<string, Listener<MatchSignal>>();
  /** Instances whose incoming signals are dropped (the instance is dead). */
  readonly dead = new Set<string>();
  readonly sent: InFlightSignal[] = [];

  pubsubFor(instanceId: string): ChatPubSub {
    const network = this;
    return {
      async publish<T extends keyof Topics & string>(topic: T, key: string, payload: Topics[T]) {
        if (topic !== 'match.signal') throw new Error(`unexpected topic ${topic}`);
        const signal = { from: instanceId, to: key, signal: payload as MatchSignal };
        network.sent.push(signal);
        const lane = `${instanceId}>${key}`;
        network.lanes.set(lane, [...(network.lanes.get(lane) ?? []), signal]);
      },
      async subscribe<T extends keyof Topics & string>(topic: T, key: string, listener: Listener<Topics[T]>): Promise<Unsubscribe> {
        if (topic !== 'match.signal') throw new Error(`unexpected topic ${topic}`);
        network.listeners.set(key, listener as Listener<MatchSignal>);
        return async () => {
          network.listeners.delete(key);
        };
      },
      onResync() {},
      async close() {},
    };
  }

  /** Lanes with something to deliver, optionally only those whose next signal passes `filter`. */
  ready(filter: (signal: InFlightSignal) => boolean = () => true): string[] {
    return [...this.lanes].filter(([, queue]) => queue.length > 0 && filter(queue[0]!)).map(([lane]) => lane);
  }

  deliver(lane: string): InFlightSignal {
    const signal = this.lanes.get(lane)!.shift()!;
    if (!this.dead.has(signal.to)) this.listeners.get(signal.to)?.(signal.signal);
    return signal;
  }
}

/** One queue command of one instance: run (atomically, on the shared queue) and answered, in order. */
interface Command {
  describe: string;
  run: () => Promise<unknown>;
  result: { value: unknown } | { error: unknown } | null;
  answer(result: { value: unknown } | { error: unknown }): void;
}

class SharedQueue {
  readonly inner = new InProcessMatchQueue();
  readonly commands = new Map<string, Command[]>();
  /** Every waiter entry seen, by the user object its subscription passed (one object per subscription). */
  readonly entries = new Map<User, QueuedWaiter>();

  connectionFor(instanceId: string): MatchQueue {
    const shared = this;
    const issue = <T>(describe: string, run: () => Promise<T>) =>
      new Promise<T>((resolve, reject) => {
        const command: Command = {
          describe,
          run,
          result: null,
          answer: (result) => ('error' in result ? reject(result.error) : resolve(result.value as T)),
        };
        shared.commands.set(instanceId, [...(shared.commands.get(instanceId) ?? []), command]);
      });
    return {
      renewIntervalMs: null,
      enter: (queue: string, waiter: QueuedWaiter, place: QueuePlace) => {
        shared.entries.set(waiter.user, waiter);
        return issue(`enter ${waiter.user.nickname} ${place}`, () => shared.inner.enter(queue, waiter, place));
      },
      leave: (queue: string, waiter: QueuedWaiter) => issue(`leave ${waiter.user.nickname}`, () => shared.inner.leave(queue, waiter)),
      renew: async () => false,
      close: async () => {},
    };
  }

  /** Instances with a command not yet run. */
  runnable(): string[] {
    return [...this.commands].filter(([, list]) => list.some((command) => command.result === null)).map(([id]) => id);
  }

  /** Instances whose oldest command has run and awaits its answer. */
  answerable(): string[] {
    return [...this.commands].filter(([, list]) => list[0]?.result != null).map(([id]) => id);
  }

  async run(instanceId: string): Promise<void> {
    const command = this.commands.get(instanceId)!.find((c) => c.result === null)!;
    // The in-process queue does all its work before its first await: this is one atomic step.
    const outcome = command.run();
    command.result = await outcome.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
  }

  answer(instanceId: string): void {
    const command = this.commands.get(instanceId)!.shift()!;
    command.answer(command.result!);
  }
}

/** Rooms made when the test says. */
class Rooms {
  readonly pending: { members: [string, string]; resolve(room: Room): void; reject(error: unknown): void }[] = [];
  readonly made = new Map<string, Room>();

  async createDirectRoom(aUserId: string, bUserId: string): Promise<Room> {
    return new Promise((resolve, reject) => this.pending.push({ members: [aUserId, bUserId], resolve, reject }));
  }

  async requireAccess(user: User | null, id: string): Promise<Room> {
    const room = this.made.get(id);
    if (!room) throw notFound(`room ${id}`);
    if (!room.members.some((member) => member.id === user?.id)) throw forbidden('not a member');
    return room;
  }

  complete(index: number): void {
    const [call] = this.pending.splice(index, 1);
    const [a, b] = call!.members;
    const room: Room = { id: `room-${this.made.size + 1}`, title: `${a} & ${b}`, createdAt: new Date(0), kind: 'DIRECT', members: [userOf(a, 'A', '0000'), userOf(b, 'B', '0000')] };
    this.made.set(room.id, room);
    call!.resolve(room);
  }

  fail(index: number): void {
    const [call] = this.pending.splice(index, 1);
    call!.reject(new Error('database unreachable'));
  }
}

/** One matchFound subscription as a client holds it. */
class Subscription {
  outcome: { match: MatchFound } | { error: unknown } | null = null;
  outcomes = 0;
  /** Told something after the server learned it had left: a bug. */
  toldAfterLeaving = false;
  left = false;
  /** The server knows it left: not before the subscription has started (as with streamOf). */
  private released = false;
  private release: (() => void) | null = null;
  private leaveOnStart = false;
  started = false;

  constructor(
    readonly user: User,
    readonly instanceId: string,
    readonly topic: string | null,
  ) {}

  start(service: MatchingService): Promise<void> {
    return service
      .wait(this.user, this.topic, {
        found: (match) => this.tell({ match }),
        failed: (error) => this.tell({ error }),
      })
      .then((release) => {
        this.started = true;
        this.release = release;
        // As streamOf does: a subscription ended while it was starting releases at once.
        if (this.leaveOnStart) this.releaseOnce();
      });
  }

  leave(): void {
    if (this.left) return;
    this.left = true;
    if (this.release) this.releaseOnce();
    else this.leaveOnStart = true;
  }

  private releaseOnce(): void {
    this.released = true;
    this.release!();
  }

  /** Still waiting: not left, told nothing. */
  get waiting(): boolean {
    return !this.left && this.outcome === null;
  }

  get match(): MatchFound | null {
    return this.outcome && 'match' in this.outcome ? this.outcome.match : null;
  }

  private tell(outcome: NonNullable<Subscription['outcome']>): void {
    if (this.released) this.toldAfterLeaving = true;
    this.outcomes++;
    this.outcome ??= outcome;
    // The stream ends after its one event, which releases the waiter (as firstEventOf does).
    if (this.release) this.release();
  }
}

class World {
  readonly network = new Network();
  readonly queue = new SharedQueue();
  readonly rooms = new Rooms();
  readonly services: Record<'A' | 'B', MatchingService>;
  readonly subscriptions: Subscription[] = [];
  private users = 0;

  constructor(timing: MatchTiming = { offerTimeoutMs: 1_000_000, confirmTimeoutMs: 1_000_000 }) {
    const service = (id: 'A' | 'B') => new MatchingService(this.queue.connectionFor(id), this.network.pubsubFor(id), this.rooms, id, silentLogger, timing);
    this.services = { A: service('A'), B: service('B') };
  }

  /** A new user, or (with `as`) one more subscription of the same user: a distinct object for the same id. */
  user(nickname: string, as?: User): User {
    return as ? { ...as } : userOf(`user-${++this.users}-${nickname}`, nickname, String(this.users).padStart(4, '0'));
  }

  /** Subscribes `user` on `instanceId`; the subscription starts once its first queue command answers. */
  wait(instanceId: 'A' | 'B', user: User, topic: string | null = null): Subscription {
    const subscription = new Subscription(user, instanceId, topic);
    this.subscriptions.push(subscription);
    void subscription.start(this.services[instanceId]).catch((error: unknown) => {
      subscription.outcome = { error };
    });
    return subscription;
  }

  /** Every step that can be taken now (queue commands, answers, signals, rooms), except those `hold` names. */
  steps(hold: { signals?: (signal: InFlightSignal) => boolean; rooms?: boolean } = {}): (() => Promise<void>)[] {
    const steps: (() => Promise<void>)[] = [];
    for (const id of this.queue.runnable()) steps.push(() => this.queue.run(id));
    for (const id of this.queue.answerable()) steps.push(async () => this.queue.answer(id));
    for (const lane of this.network.ready((signal) => !hold.signals?.(signal))) steps.push(async () => void this.network.deliver(lane));
    if (!hold.rooms) this.rooms.pending.forEach((_, i) => steps.push(async () => this.rooms.complete(i)));
    return steps;
  }

  /** Takes steps, the first possible each time (or a random one with `pick`), until none is left. */
  async settle(hold: Parameters<World['steps']>[0] = {}, pick: (count: number) => number = () => 0): Promise<void> {
    await flush();
    for (let taken = 0; ; taken++) {
      if (taken > 10_000) throw new Error('the handshake does not settle');
      const steps = this.steps(hold);
      if (steps.length === 0) return;
      await steps[pick(steps.length)]!();
      await flush();
    }
  }

  /** Both sides told of one match with each other, in the same room. */
  expectPaired(one: Subscription, other: Subscription): void {
    expect(one.match?.partner, `${one.user.nickname}'s partner`).toBe(other.user);
    expect(other.match?.partner, `${other.user.nickname}'s partner`).toBe(one.user);
    expect(one.match!.room.id).toBe(other.match!.room.id);
  }

  queued(): number {
    return this.queue.inner.size();
  }

  /** Everything held returned to zero: no waiter, no offer, nothing queued, nothing in flight. */
  expectNothingHeld(): void {
    expect(this.services.A.open).toEqual({ waiters: 0, queued: 0, offers: 0 });
    expect(this.services.B.open).toEqual({ waiters: 0, queued: 0, offers: 0 });
    expect(this.queued()).toBe(0);
    expect(this.steps()).toEqual([]);
  }
}

describe('matching races, step by step', () => {
  it('pairs across instances: the one who waited is told on its own instance, both of the same room', async () => {
    const world = new World();
    const alice = world.wait('A', world.user('Alice'));
    await world.settle();
    const bob = world.wait('B', world.user('Bob'));
    await world.settle();
    world.expectPaired(alice, bob);
    expect(world.rooms.made.size).toBe(1);
    world.expectNothingHeld();
  });

  it('a partner that left after it was taken: the taker is told no and waits again at the head, ahead of later arrivals', async () => {
    const world = new World();
    const alice = world.wait('A', world.user('Alice'));
    await world.settle();
    // Bob takes Alice off the queue; his offer is on its way to A.
    const bobUser = world.user('Bob');
    const bob = world.wait('B', bobUser);
    const offers = { signals: (s: InFlightSignal) => s.signal.kind === 'offer' };
    await world.settle(offers);
    expect(world.queued()).toBe(0);
    // Bob waits a second time meanwhile (he queues: nobody else waits), and Alice leaves.
    const bobAgain = world.wait('B', world.user('Bob', bobUser));
    await world.settle(offers);
    alice.leave();
    await world.settle();
    // Bob's first subscription went back where it was: before his second.
    expect(world.queued()).toBe(2);
    const carol = world.wait('A', world.user('Carol'));
    await world.settle();
    world.expectPaired(bob, carol);
    expect([alice.outcome, bobAgain.outcome]).toEqual([null, null]);
    expect(world.rooms.made.size).toBe(1);
    bobAgain.leave();
    await world.settle();
    world.expectNothingHeld();
  });

  it('a partner that accepted and left before its room was made: the taker gets no dead match and waits again at the head', async () => {
    const world = new World();
    const alice = world.wait('A', world.user('Alice'));
    await world.settle();
    const bobUser = world.user('Bob');
    const bob = world.wait('B', bobUser);
    await world.settle({ rooms: true });
    // Alice accepted; Bob's room is being made. Bob waits again meanwhile, and Alice leaves.
    expect(world.rooms.pending).toHaveLength(1);
    const bobAgain = world.wait('B', world.user('Bob', bobUser));
    await world.settle({ rooms: true });
    alice.leave();
    await world.settle({ rooms: true });
    await world.settle();
    expect(bob.outcome).toBeNull();
    const carol = world.wait('A', world.user('Carol'));
    await world.settle();
    world.expectPaired(bob, carol);
    expect([alice.outcome, bobAgain.outcome]).toEqual([null, null]);
    bobAgain.leave();
    await world.settle();
    world.expectNothingHeld();
  });

  for (const moment of ['while its offer was on the way', 'while the room was being made'] as const) {
    it(`a taker that left ${moment}: the partner, who accepted, waits again at the head`, async () => {
      const world = new World();
      const aliceUser = world.user('Alice');
      const alice = world.wait('A', aliceUser);
      await world.settle();
      const aliceAgain = world.wait('A', world.user('Alice', aliceUser));
      await world.settle();
      expect(world.queued()).toBe(2);
      const bob = world.wait('B', world.user('Bob'));
      if (moment === 'while its offer was on the way') {
        await world.settle({ signals: (s) => s.signal.kind === 'offer' });
        bob.leave();
      } else {
        await world.settle({ rooms: true });
        expect(world.rooms.pending).toHaveLength(1);
        bob.leave();
      }
      await world.settle();
      expect([alice.outcome, aliceAgain.outcome, bob.outcome]).toEqual([null, null, null]);
      // Alice's first subscription is back at the head, ahead of her second.
      const carol = world.wait('B', world.user('Carol'));
      await world.settle();
      world.expectPaired(alice, carol);
      aliceAgain.leave();
      await world.settle();
      world.expectNothingHeld();
    });
  }

  it('a room that cannot be made fails the taker’s subscription (masked by the error policy) and sends the partner back to the head', async () => {
    const world = new World();
    const alice = world.wait('A', world.user('Alice'));
    await world.settle();
    const bob = world.wait('B', world.user('Bob'));
    await world.settle({ rooms: true });
    world.rooms.fail(0);
    await world.settle();
    expect(bob.outcome).toEqual({ error: new Error('database unreachable') });
    expect(alice.outcome).toBeNull();
    const carol = world.wait('B', world.user('Carol'));
    await world.settle();
    world.expectPaired(alice, carol);
    world.expectNothingHeld();
  });

  it('a partner whose instance died: the taker gives up after the offer timeout and waits again; a late yes from it is released', async () => {
    const world = new World({ offerTimeoutMs: 30, confirmTimeoutMs: 1_000_000 });
    const alice = world.wait('A', world.user('Alice'));
    await world.settle();
    const bob = world.wait('B', world.user('Bob'));
    // The offer stays on its way past the timeout: Bob waits again (queued, as nobody else waits).
    const offers = { signals: (s: InFlightSignal) => s.signal.kind === 'offer' };
    await world.settle(offers);
    await until(async () => (await world.settle(offers), world.services.B.open.queued === 1), 2_000, 'Bob to wait again');
    // Now the offer arrives; Alice says yes to an offer Bob gave up: she is released and takes Bob, the match they both get.
    await world.settle();
    world.expectPaired(alice, bob);
    world.expectNothingHeld();
  });

  it('a taker whose instance died after the partner said yes: the partner gives up after the confirm timeout and waits again', async () => {
    const world = new World({ offerTimeoutMs: 1_000_000, confirmTimeoutMs: 30 });
    const alice = world.wait('A', world.user('Alice'));
    await world.settle();
    world.wait('B', world.user('Bob'));
    await world.settle({ signals: (s) => s.signal.kind === 'answer' });
    // B dies: Alice's yes and everything else for B is lost.
    world.network.dead.add('B');
    await until(async () => (await world.settle(), world.services.A.open.queued === 1), 2_000, 'Alice to wait again');
    await world.settle();
    const carol = world.wait('A', world.user('Carol'));
    await world.settle();
    world.expectPaired(alice, carol);
  });

  it('random interleavings of arrivals, departures, queue answers, signals and rooms: no one paired twice or with themselves, no survivor stranded, all back to zero', async () => {
    for (let seed = 1; seed <= 300; seed++) {
      const next = seededRandom(seed);
      const pick = (count: number) => Math.floor(next() * count);
      const world = new World();
      const people: User[] = [];
      for (let step = 0; step < 80; step++) {
        const roll = next();
        const live = world.subscriptions.filter((s) => !s.left);
        if (roll < 0.25) {
          // A newcomer, or someone already here waiting once more; on either instance; mostly one topic.
          const user = people.length > 0 && next() < 0.25 ? world.user('Again', people[pick(people.length)]!) : world.user(`P${people.length}`);
          if (!people.some((p) => p.id === user.id)) people.push(user);
          world.wait(next() < 0.5 ? 'A' : 'B', user, next() < 0.85 ? null : 'other');
        } else if (roll < 0.4 && live.length > 0) {
          live[pick(live.length)]!.leave();
        } else if (roll < 0.43 && world.rooms.pending.length > 0) {
          world.rooms.fail(pick(world.rooms.pending.length));
        } else {
          const steps = world.steps();
          if (steps.length > 0) await steps[pick(steps.length)]!();
        }
        await flush();
      }
      await world.settle({}, pick);
      checkInvariants(world, seed);

      // Whoever still waits, waits alone per topic: two users waiting on one topic would have been paired.
      for (const topic of [null, 'other']) {
        const waiting = world.subscriptions.filter((s) => s.waiting && s.started && s.topic === topic);
        expect(new Set(waiting.map((s) => s.user.id)).size, `seed ${seed}: users still waiting on ${topic}`).toBeLessThanOrEqual(1);
      }
      for (const subscription of world.subscriptions) subscription.leave();
      await world.settle({}, pick);
      checkInvariants(world, seed);
      world.expectNothingHeld();
    }
  });
});

function checkInvariants(world: World, seed: number): void {
  const byRoom = new Map<string, Subscription[]>();
  for (const subscription of world.subscriptions) {
    const where = `seed ${seed}: ${subscription.user.nickname}`;
    expect(subscription.outcomes, `${where} told once at most`).toBeLessThanOrEqual(1);
    expect(subscription.toldAfterLeaving, `${where} told after leaving`).toBe(false);
    const match = subscription.match;
    if (!match) continue;
    expect(match.partner.id, `${where} paired with themselves`).not.toBe(subscription.user.id);
    expect(match.room.members.map((m) => m.id).sort()).toEqual([subscription.user.id, match.partner.id].sort());
    byRoom.set(match.room.id, [...(byRoom.get(match.room.id) ?? []), subscription]);
  }
  for (const [roomId, told] of byRoom) {
    expect(told.length, `seed ${seed}: ${roomId} told to`).toBeLessThanOrEqual(2);
    const [one, other] = told;
    if (other) {
      world.expectPaired(one!, other);
      continue;
    }
    // Told to one side only: the other had accepted and then left before hearing of it, never a partner still waiting or matched elsewhere.
    const partner = world.subscriptions.find((s) => s.user === one!.match!.partner)!;
    expect(partner.left, `seed ${seed}: ${one!.user.nickname}'s partner in ${roomId} had left`).toBe(true);
    expect(partner.match, `seed ${seed}: ${one!.user.nickname}'s partner in ${roomId} matched elsewhere`).toBeNull();
  }
}

