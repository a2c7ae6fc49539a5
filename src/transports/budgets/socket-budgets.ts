import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Budget, BudgetStore } from '../../infrastructure/rate-limit/budget-store.js';
import type { Rate, RateLimitsConfig } from './budgets.config.js';
import { budgetAddress } from './client-ip.js';

/**
 * A token bucket kept in the socket's own session: `perSecond` tokens come back
 * each second, up to `burst`. Synchronous and allocation-free, as it is asked
 * once per incoming frame.
 */
export class FrameBudget {
  private tokens: number;
  private last = performance.now();

  constructor(private readonly rate: Rate) {
    this.tokens = rate.burst;
  }

  /** Takes one token; false when there is none. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** How long until the next token. */
  msUntilNext(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.rate.perSecond);
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.rate.burst, this.tokens + ((now - this.last) * this.rate.perSecond) / 1000);
    this.last = now;
  }
}

export type Admission = { admitted: true } | { admitted: false; status: 429; retryAfterSeconds: number; reason: string };

/**
 * The WebSocket transport's budgets: upgrades per address (shared by the
 * instances through the budget store), open sockets per address and per user
 * (counted in this instance), and each socket's frames (FrameBudget).
 */
export class SocketBudgets {
  private readonly upgrades: Budget;
  private readonly openPerIp = new Map<string, number>();
  private readonly openPerUser = new Map<string, number>();

  constructor(
    private readonly limits: RateLimitsConfig,
    store: BudgetStore,
    /** Told of each refusal, by rule (`wsUpgradeIp`, `wsSocketsPerIp`, `wsSocketsPerUser`), for the metrics. */
    private readonly onRefused: (rule: string) => void = () => {},
  ) {
    this.upgrades = store.budget('wsUpgradeIp', limits.upgradesPerIp);
  }

  /**
   * Before the upgrade: refused past the open sockets or the upgrades of
   * `ip`; admitted, the socket counts against `ip` until `connection` closes
   * (however the handshake ends).
   */
  async admitUpgrade(clientIp: string, connection: Duplex): Promise<Admission> {
    const ip = budgetAddress(clientIp);
    if ((this.openPerIp.get(ip) ?? 0) >= this.limits.socketsPerIp) {
      this.onRefused('wsSocketsPerIp');
      return { admitted: false, status: 429, retryAfterSeconds: 10, reason: `at most ${this.limits.socketsPerIp} open connections per address` };
    }
    // Counted from now, so upgrades arriving together cannot all pass the check above.
    count(this.openPerIp, ip, +1);
    let counted = true;
    const uncount = () => {
      if (counted) count(this.openPerIp, ip, -1);
      counted = false;
    };
    connection.once('close', uncount);
    const spend = await this.upgrades.spend(ip);
    if (spend.granted) return { admitted: true };
    uncount();
    this.onRefused('wsUpgradeIp');
    return { admitted: false, status: 429, retryAfterSeconds: Math.max(1, Math.ceil(spend.retryAfterMs / 1000)), reason: 'too many new connections from this address' };
  }

  /** At connection_init: false past the user's open sockets; admitted, the socket counts until it closes. */
  admitUser(userId: string, socket: WebSocket): boolean {
    if ((this.openPerUser.get(userId) ?? 0) >= this.limits.socketsPerUser) {
      this.onRefused('wsSocketsPerUser');
      return false;
    }
    count(this.openPerUser, userId, +1);
    socket.once('close', () => count(this.openPerUser, userId, -1));
    return true;
  }

  /** A new socket's budgets: its frames (past them it is closed) and its operation starts (past them they wait their turn). */
  forSocket(clientIp: string): { clientIp: string; frames: FrameBudget; starts: FrameBudget } {
    return { clientIp, frames: new FrameBudget(this.limits.messagesPerSocket), starts: new FrameBudget(this.limits.startsPerSocket) };
  }
}

function count(counts: Map<string, number>, key: string, change: number): void {
  const next = (counts.get(key) ?? 0) + change;
  if (next <= 0) counts.delete(key);
  else counts.set(key, next);
}

/** How long a flooding socket has to take its close frame before it is cut off. */
const FLOOD_CLOSE_GRACE_MS = 2_000;

/**
 * Closes a flooding socket with `code` and `reason`, and stops reading it at
 * once: the rest of its burst, already on the wire, is never parsed. Unread,
 * the peer's answer to the close never arrives either, so the socket is cut
 * off FLOOD_CLOSE_GRACE_MS later (by then the peer has read the close frame).
 */
export function closeFlooding(socket: WebSocket, code: number, reason: string): void {
  if (socket.readyState !== socket.OPEN) return;
  socket.close(code, reason);
  socket.pause();
  setTimeout(() => socket.terminate(), FLOOD_CLOSE_GRACE_MS).unref();
}
