/**
 * The open long-lived streams of the general subscription path (SSE, and
 * WebSocket operations off the fast path), so a stopping server can end them
 * cleanly instead of waiting for clients to hang up.
 */
export class StreamRegistry {
  private readonly open = new Set<{ return(): unknown }>();

  track<T extends { return(): unknown; onEnd(cleanup: () => void): void }>(stream: T): T {
    this.open.add(stream);
    stream.onEnd(() => this.open.delete(stream));
    return stream;
  }

  endAll(): void {
    for (const stream of [...this.open]) stream.return();
  }
}
