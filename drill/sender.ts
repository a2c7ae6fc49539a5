import WebSocket from 'ws';
import { createChatClient, memoryStorage, randomId, type ChatClient, type ChatError, type Session } from '../sdk/index.js';

export interface Acked {
  roomId: string;
  clientMessageId: string;
  id: string;
  seq: number;
  /** Date.now() when the send started. */
  at: number;
  latencyMs: number;
}

export interface Failed {
  roomId: string;
  clientMessageId: string;
  code: string;
  message: string;
  at: number;
  latencyMs: number;
}

export interface SendReport {
  acked: Acked[];
  failed: Failed[];
  /** Sends not started because `maxInFlight` were still open (the server was stuck). */
  skipped: number;
}

/**
 * A steady, open-loop send load through the SDK (which retries a network
 * error with the same clientMessageId, as a person's client would): one send
 * every 1/rate s whether or not the previous ones were answered.
 */
export class Sender {
  private readonly chat: ChatClient;
  private readonly report: SendReport = { acked: [], failed: [], skipped: 0 };
  private inFlight = new Set<Promise<void>>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(
    url: string,
    session: Session,
    /** Sends go to these rooms in turn. */
    private readonly roomIds: string[],
    private readonly maxInFlight = 500,
  ) {
    const storage = memoryStorage();
    void storage.setItem('chat-api.session', JSON.stringify(session));
    // HTTP only matters here; the SDK opens its socket anyway, harmlessly.
    this.chat = createChatClient({ url, storage, transport: 'websocket', webSocketImpl: WebSocket });
  }

  start(perSecond: number): void {
    const started = Date.now();
    let n = 0;
    const tick = () => {
      if (this.stopped) return;
      const now = Date.now();
      while (started + (n * 1000) / perSecond <= now) {
        n++;
        if (this.inFlight.size >= this.maxInFlight) this.report.skipped++;
        else this.send(this.roomIds[n % this.roomIds.length]!, randomId(), `drill ${n}`);
      }
      this.timer = setTimeout(tick, Math.max(1, started + (n * 1000) / perSecond - Date.now()));
    };
    tick();
  }

  /** One send, recorded as acked or failed. */
  send(roomId: string, clientMessageId: string, body: string): Promise<void> {
    const at = Date.now();
    const done = this.chat
      .sendMessage({ roomId, body, clientMessageId })
      .then(
        (message) => void this.report.acked.push({ roomId, clientMessageId, id: message.id, seq: message.seq, at, latencyMs: Date.now() - at }),
        (error: ChatError) => void this.report.failed.push({ roomId, clientMessageId, code: error.code ?? 'UNKNOWN', message: error.message, at, latencyMs: Date.now() - at }),
      )
      .finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
    return done;
  }

  /** Stops sending and waits (at most `ms`) for the sends still open. */
  async stop(ms = 30_000): Promise<SendReport> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((resolve) => setTimeout(resolve, ms))]);
    return this.report;
  }

  /** Sends every failed one again with its clientMessageId (the retry a client makes later). */
  async retryFailed(): Promise<{ clientMessageId: string; outcome: string }[]> {
    const failed = this.report.failed.splice(0);
    const outcomes: { clientMessageId: string; outcome: string }[] = [];
    for (const { roomId, clientMessageId } of failed) {
      const acked = this.report.acked.length;
      await this.send(roomId, clientMessageId, 'drill retry');
      outcomes.push({ clientMessageId, outcome: this.report.acked.length > acked ? 'acked' : (this.report.failed.at(-1)?.code ?? '?') });
    }
    return outcomes;
  }

  close(): Promise<void> {
    return this.chat.close();
  }
}
