import { randomUUID } from 'node:crypto';
import type { User } from '../identity/user.js';
import type { Unsubscribe } from '../infrastructure/pubsub/pubsub.js';
import { errorMessage, type Logger } from '../logger.js';
import type { Room } from '../rooms/room.js';
import type { RoomService } from '../rooms/room.service.js';
import type { ChatPubSub } from '../topics.js';
import type { MatchQueue } from './match-queue.js';
import { queueOf, type MatchSignal, type QueuedWaiter, type QueuePlace } from './matching.js';
import { Waiter, type MatchHandlers } from './waiter.js';

export interface MatchTiming {
  /** How long a waiter that took a partner waits for its answer; silence (a dead instance) counts as "gone". @default 5000 */
  offerTimeoutMs: number;
  /** How long an accepted partner waits for its room before it waits in the queue again. @default 15000 */
  confirmTimeoutMs: number;
}

const DEFAULT_TIMING: MatchTiming = { offerTimeoutMs: 5_000, confirmTimeoutMs: 15_000 };

/** An offer a waiter here made, until its match is delivered or off. */
interface PendingOffer {
  answer(accepted: boolean): void;
  /** The partner accepted and then left. */
  withdrawn: boolean;
}

/**
 * Random 1:1 matching (the contract's matchFound). Each queue is first come,
 * first served; the queue itself (MatchQueue) makes "take a partner or wait"
 * atomic across instances. What it cannot know is whether a waiter it hands
 * out is still there: the subscription may have ended a moment ago on another
 * instance. So the taker offers first (MatchSignal) and makes the room only for
 * a partner that accepted; whichever side is still there when a match falls
 * through (its partner left, its instance died, its room could not be made)
 * waits again instead of getting a match nobody will answer: it takes the next
 * waiter of another user if there is one, else goes back to the head of its
 * queue. The head, because that is the place it had: a taken waiter was the
 * oldest of its queue, and a taker arrived before anyone who queued during its
 * handshake; the tail would punish it for someone else's leaving. A match is
 * final once its room exists and the taker is told: a side that leaves after
 * that is like a user who leaves a new room at once (the only window left is a
 * partner leaving while its "I have left" is on its way to the taker).
 */
export class MatchingService {
  private readonly waiters = new Map<string, Waiter>();
  private readonly offers = new Map<string, PendingOffer>();
  /** Queue removals and handshakes under way, which close() lets finish. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private starting: Promise<void> | null = null;
  private stopListening: Unsubscribe | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private renewing = false;

  constructor(
    private readonly queue: MatchQueue,
    private readonly pubsub: ChatPubSub,
    private readonly rooms: Pick<RoomService, 'createDirectRoom' | 'requireAccess'>,
    private readonly instanceId: string,
    private readonly logger: Logger,
    private readonly timing: MatchTiming = DEFAULT_TIMING,
  ) {}

  /**
   * Puts `user` in the queue for `topic` (null: the general queue) until the
   * returned function is called; `handlers` hear of the match. Rejects (with
   * BAD_USER_INPUT for a bad topic) before anything is queued.
   */
  async wait(user: User, topic: string | null | undefined, handlers: MatchHandlers): Promise<() => void> {
    const queue = queueOf(topic);
    await this.ready();
    const waiter = new Waiter(queue, { id: randomUUID(), user, instanceId: this.instanceId }, handlers);
    this.waiters.set(waiter.entry.id, waiter);
    let partner: QueuedWaiter | null;
    try {
      partner = await this.enter(waiter, 'tail');
    } catch (error) {
      this.leave(waiter);
      throw error;
    }
    if (partner) this.run(waiter, this.propose(waiter, partner));
    return () => this.leave(waiter);
  }

  /** This instance's waiters (and of them, those in a queue now) and offers under way; for tests and operators. */
  get open(): { waiters: number; queued: number; offers: number } {
    let queued = 0;
    for (const waiter of this.waiters.values()) if (waiter.state === 'queued') queued++;
    return { waiters: this.waiters.size, queued, offers: this.offers.size };
  }

  /** Stops renewing and takes this instance's remaining waiters out; streams should have ended already. */
  async close(): Promise<void> {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = null;
    for (const waiter of [...this.waiters.values()]) this.leave(waiter);
    for (const offer of this.offers.values()) offer.answer(false);
    await Promise.allSettled([...this.inFlight]);
    await this.stopListening?.().catch(() => {});
    await this.queue.close().catch((error: unknown) => this.logger.warn({ error: errorMessage(error) }, 'withdrawing from the match queues failed; they expire by themselves'));
  }

  /** Listening for signals, and (for a shared queue) alive in the others' eyes, before any waiter is queued. */
  private ready(): Promise<void> {
    if (!this.starting) {
      const starting = this.start();
      this.starting = starting;
      // A failed start (Redis away) fails this subscription; the next one tries again.
      starting.catch(() => {
        if (this.starting === starting) this.starting = null;
      });
    }
    return this.starting;
  }

  private async start(): Promise<void> {
    this.stopListening ??= await this.pubsub.subscribe('match.signal', this.instanceId, (signal) => this.receive(signal));
    if (this.queue.renewIntervalMs === null || this.renewTimer) return;
    await this.queue.renew([]);
    this.renewTimer = setInterval(() => this.renew(), this.queue.renewIntervalMs);
    this.renewTimer.unref();
  }

  /**
   * One queue operation for `waiter`. Returns the partner it took and must now
   * offer to, or null: it is queued, or no longer looking (then whatever the
   * operation took is given back).
   */
  private async enter(waiter: Waiter, place: QueuePlace): Promise<QueuedWaiter | null> {
    waiter.become('entering');
    waiter.entering = true;
    let partner: QueuedWaiter | null;
    try {
      partner = await this.queue.enter(waiter.queue, waiter.entry, place);
    } finally {
      waiter.entering = false;
    }
    if (partner === null) {
      if (waiter.state === 'entering') {
        waiter.become('queued');
        if (waiter.recheck) {
          waiter.recheck = false;
          this.run(waiter, this.rejoin(waiter));
        }
      } else {
        // It left, or another waiter took it, while the operation ran: it must not stay queued.
        waiter.recheck = false;
        this.track(this.queue.leave(waiter.queue, waiter.entry));
      }
      return null;
    }
    waiter.recheck = false;
    if (waiter.state !== 'entering') {
      // Left, or taken by another waiter's offer, meanwhile: the partner was taken for nothing.
      this.signal(partner.instanceId, { kind: 'release', offerId: null, to: partner.id });
      return null;
    }
    return partner;
  }

  /** Back in the queue at the place it had, unless it is still there; takes a partner if one waits now. */
  private async rejoin(waiter: Waiter): Promise<void> {
    if (waiter.entering) {
      // Its operation under way (from before it was taken) rejoins it once answered: one at a time.
      waiter.become('entering');
      waiter.recheck = true;
      return;
    }
    const partner = await this.enter(waiter, 'rejoin');
    if (partner) await this.propose(waiter, partner);
  }

  /** `waiter` took `partner` off the queue: offer, and make the room once it accepts. */
  private async propose(waiter: Waiter, partner: QueuedWaiter): Promise<void> {
    waiter.become('offering');
    const offerId = randomUUID();
    let offer!: PendingOffer;
    const accepted = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        // Silence: the partner's instance is gone. A late acceptance is released (see onAnswer).
        this.offers.delete(offerId);
        resolve(false);
      }, this.timing.offerTimeoutMs);
      timer.unref();
      offer = {
        withdrawn: false,
        answer: (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
      };
      this.offers.set(offerId, offer);
      this.signal(partner.instanceId, { kind: 'offer', offerId, to: partner.id, from: waiter.entry });
    });
    const release = () => this.signal(partner.instanceId, { kind: 'release', offerId, to: partner.id });
    if (!accepted || offer.withdrawn) {
      this.offers.delete(offerId);
      // The partner had gone: this waiter is the survivor and waits again where it was.
      if (waiter.state === 'offering') await this.rejoin(waiter);
      return;
    }
    if (waiter.state !== 'offering') {
      // This waiter left while asking: the partner survives and waits again where it was.
      this.offers.delete(offerId);
      release();
      return;
    }
    let room: Room;
    try {
      room = await this.rooms.createDirectRoom(waiter.entry.user.id, partner.user.id);
    } catch (error) {
      this.offers.delete(offerId);
      release();
      throw error;
    }
    this.offers.delete(offerId);
    if (offer.withdrawn) {
      // The partner left while its room was made: nobody would answer this waiter there.
      if (waiter.state === 'offering') await this.rejoin(waiter);
      return;
    }
    if (waiter.state !== 'offering') {
      release();
      return;
    }
    waiter.become('matched');
    this.waiters.delete(waiter.entry.id);
    this.signal(partner.instanceId, { kind: 'matched', offerId, to: partner.id, roomId: room.id });
    waiter.handlers.found({ room, partner: partner.user });
  }

  private receive(signal: MatchSignal): void {
    switch (signal.kind) {
      case 'offer':
        return this.onOffer(signal);
      case 'answer':
        return this.onAnswer(signal);
      case 'withdraw': {
        const offer = this.offers.get(signal.offerId);
        if (offer) offer.withdrawn = true;
        return;
      }
      case 'matched':
        return this.onMatched(signal);
      case 'release':
        return this.onRelease(signal);
    }
  }

  private onOffer(signal: Extract<MatchSignal, { kind: 'offer' }>): void {
    const waiter = this.waiters.get(signal.to);
    // Entering: the offer outran the reply to the waiter's own enter; it is in the queue all the same.
    const accepted = waiter !== undefined && (waiter.state === 'queued' || waiter.state === 'entering');
    if (accepted) {
      const timer = setTimeout(() => {
        if (waiter.state !== 'offered' || waiter.offer?.id !== signal.offerId) return;
        // The room never came (the offering instance died): wait again rather than forever.
        waiter.dropOffer();
        this.run(waiter, this.rejoin(waiter));
      }, this.timing.confirmTimeoutMs);
      timer.unref();
      waiter.offer = { id: signal.offerId, from: signal.from, timer };
      waiter.become('offered');
    }
    this.signal(signal.from.instanceId, { kind: 'answer', offerId: signal.offerId, accepted, from: { id: signal.to, instanceId: this.instanceId } });
  }

  private onAnswer(signal: Extract<MatchSignal, { kind: 'answer' }>): void {
    const offer = this.offers.get(signal.offerId);
    if (offer) offer.answer(signal.accepted);
    // Accepted after the offer was given up: the partner must not wait for a room that never comes.
    else if (signal.accepted) this.signal(signal.from.instanceId, { kind: 'release', offerId: signal.offerId, to: signal.from.id });
  }

  private onMatched(signal: Extract<MatchSignal, { kind: 'matched' }>): void {
    const waiter = this.waiters.get(signal.to);
    if (!waiter || waiter.state !== 'offered' || waiter.offer?.id !== signal.offerId) return;
    const partner = waiter.offer.from.user;
    waiter.dropOffer();
    waiter.become('matched');
    this.waiters.delete(waiter.entry.id);
    this.track(
      this.rooms.requireAccess(waiter.entry.user, signal.roomId).then(
        (room) => waiter.handlers.found({ room, partner }),
        (error: unknown) => waiter.handlers.failed(error),
      ),
    );
  }

  private onRelease(signal: Extract<MatchSignal, { kind: 'release' }>): void {
    const waiter = this.waiters.get(signal.to);
    if (!waiter) return;
    if (waiter.state === 'offered' && waiter.offer?.id === signal.offerId) {
      waiter.dropOffer();
      this.run(waiter, this.rejoin(waiter));
    } else if (waiter.state === 'queued') {
      // Taken off by a waiter that then could not use it (or a stray release: rejoining keeps a queued waiter's place).
      this.run(waiter, this.rejoin(waiter));
    } else if (waiter.state === 'entering') {
      waiter.recheck = true;
    }
  }

  /** The waiter's subscription ended: out of the queue at once, and whoever holds it for a match is told. */
  private leave(waiter: Waiter): void {
    const was = waiter.state;
    if (was === 'left') return;
    waiter.become('left');
    if (this.waiters.get(waiter.entry.id) === waiter) this.waiters.delete(waiter.entry.id);
    if (was === 'queued') {
      // Not there any more (false): another waiter took it, and its offer will find it gone.
      this.track(this.queue.leave(waiter.queue, waiter.entry));
    } else if (was === 'offered' && waiter.offer) {
      this.signal(waiter.offer.from.instanceId, { kind: 'withdraw', offerId: waiter.offer.id });
      waiter.dropOffer();
    }
    // entering, offering: the step under way sees it left and gives back what it took.
  }

  /** Keeps this instance's waiters alive in the shared queues; rejoins them all if they had lapsed. */
  private renew(): void {
    if (this.renewing) return;
    this.renewing = true;
    const queued = [...this.waiters.values()].filter((waiter) => waiter.state === 'queued');
    this.queue
      .renew([...new Set(queued.map((waiter) => waiter.queue))])
      .then(
        (lapsed) => {
          if (!lapsed) return;
          if (queued.length > 0) this.logger.warn({ waiters: queued.length }, 'match queue entries had lapsed; waiters rejoin');
          for (const waiter of this.waiters.values()) if (waiter.state === 'queued') this.run(waiter, this.rejoin(waiter));
        },
        (error: unknown) => this.logger.warn({ error: errorMessage(error) }, 'renewing match queue entries failed; the next renewal retries'),
      )
      .finally(() => (this.renewing = false));
  }

  private signal(instanceId: string, signal: MatchSignal): void {
    // A lost signal is a timeout on the other side, never a stuck waiter.
    this.pubsub.publish('match.signal', instanceId, signal).catch((error: unknown) => this.logger.warn({ kind: signal.kind, error: errorMessage(error) }, 'match signal not sent'));
  }

  /** A step for `waiter` in the background; if it fails, so does the waiter's subscription. */
  private run(waiter: Waiter, step: Promise<void>): void {
    this.track(
      step.catch((error: unknown) => {
        if (waiter.state !== 'left') waiter.handlers.failed(error);
        this.leave(waiter);
      }),
    );
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) => this.logger.warn({ error: errorMessage(error) }, 'match queue operation failed'));
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }
}
