import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP load balancer on 127.0.0.1, as one would stand in front of the
 * instances: each new connection goes to the next backend in turn, and to the
 * one after it when that one refuses (a killed instance). It keeps no state
 * about clients: a client that reconnects lands wherever the turn is.
 */
export interface Balancer {
  port: number;
  /** http://127.0.0.1:<port>/graphql */
  url: string;
  /** Connections open now, by backend port. */
  openByBackend(): Record<number, number>;
  /** Network loss: every connection destroyed at once, no close frame. */
  cut(): number;
  close(): Promise<void>;
}

export async function startBalancer(backends: number[]): Promise<Balancer> {
  const open = new Map<Socket, { upstream: Socket; backend: number }>();
  let turn = 0;

  // A refused connection tries the backends after the one it was given, each once: not the next
  // turn, which other connections move meanwhile (it could land on the dead one again).
  const route = (client: Socket, first: number, attempt: number) => {
    if (attempt >= backends.length) return void client.destroy();
    const backend = backends[(first + attempt) % backends.length]!;
    const upstream = connect(backend, '127.0.0.1');
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      open.set(client, { upstream, backend });
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      if (!connected) route(client, first, attempt + 1);
    });
    upstream.on('close', () => {
      if (!connected) return;
      open.delete(client);
      client.destroy();
    });
  };

  const server = createServer({ pauseOnConnect: true }, (client) => {
    client.on('error', () => {});
    client.on('close', () => {
      const pair = open.get(client);
      open.delete(client);
      pair?.upstream.destroy();
    });
    route(client, turn++, 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}/graphql`,
    openByBackend() {
      const counts: Record<number, number> = {};
      for (const { backend } of open.values()) counts[backend] = (counts[backend] ?? 0) + 1;
      return counts;
    },
    cut() {
      const count = open.size;
      for (const [client, { upstream }] of [...open]) {
        open.delete(client);
        client.resetAndDestroy();
        upstream.destroy();
      }
      return count;
    },
    async close() {
      for (const [client, { upstream }] of open) {
        client.destroy();
        upstream.destroy();
      }
      open.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
