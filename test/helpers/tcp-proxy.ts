import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of a test server, standing for the network between a
 * client and it: cut() is a network loss (every connection gone, no close
 * frame), closeSockets() makes WebSocket connections end with a close code of
 * the test's choosing, as the server would send it.
 */
export interface TcpProxy {
  port: number;
  /** http://127.0.0.1:<proxy port>/graphql */
  url: string;
  wsUrl: string;
  /** Connections open now. */
  readonly open: number;
  /** Network loss: every connection is destroyed at once, in both directions. */
  cut(): void;
  /** Each WebSocket connection receives a close frame (code, reason) and loses its server side. */
  closeSockets(code: number, reason: string): number;
  /** New connections go to this port (another instance, a restarted server). */
  retarget(port: number): void;
  /** While true, new connections are dropped at once: the network stays down until set back to false. */
  refuse(refusing: boolean): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  websocket: boolean;
}

/** An unmasked close frame, as a server sends it. */
function closeFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason);
  const payload = Buffer.alloc(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return Buffer.concat([Buffer.from([0x88, payload.length]), payload]);
}

export async function startTcpProxy(targetPort: number, path = '/graphql'): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let target = targetPort;
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) return void client.resetAndDestroy();
    const upstream = connect(target, '127.0.0.1');
    const pair: Pair = { client, upstream, websocket: false };
    pairs.add(pair);
    client.once('data', (first: Buffer) => {
      pair.websocket = /^upgrade:\s*websocket/im.test(first.toString('latin1'));
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}${path}`,
    wsUrl: `ws://127.0.0.1:${port}${path}`,
    get open() {
      return pairs.size;
    },
    cut() {
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        pair.client.resetAndDestroy();
        pair.upstream.destroy();
      }
    },
    closeSockets(code, reason) {
      let closed = 0;
      for (const pair of [...pairs]) {
        if (!pair.websocket) continue;
        pairs.delete(pair);
        pair.upstream.unpipe(pair.client);
        pair.upstream.destroy();
        pair.client.end(closeFrame(code, reason));
        closed++;
      }
      return closed;
    },
    retarget(port) {
      target = port;
    },
    refuse(value) {
      refusing = value;
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
