/** A stream that says when it ends and can be ended from outside. */
export interface EndableStream {
  return(): unknown;
  onEnd(cleanup: () => void): void;
}

/**
 * The open long-lived streams of the general subscription path (SSE, and
 * WebSocket operations off the fast path), so a stopping server can end them
 * cleanly instead of waiting for clients to hang up.
 */
export class OpenStreams {
  private readonly open = new Set<EndableStream>();

  track<T extends EndableStream>(stream: T): T {
    this.open.add(stream);
    stream.onEnd(() => this.open.delete(stream));
    return stream;
  }

  get size(): number {
    return this.open.size;
  }

  endAll(): void {
    for (const stream of [...this.open]) stream.return();
  }
}
