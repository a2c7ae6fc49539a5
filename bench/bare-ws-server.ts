import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { serve } from './ipc.js';
import { probeHandlers } from './probes.js';

/**
 * The ceiling for fan-out: the least a WebSocket broadcast server can do with
 * `ws`. It speaks just enough graphql-transport-ws for the same load client
 * (connection_init → connection_ack, subscribe), and `POST /publish {"body"}`
 * builds the same message a chat server would, JSON.stringify()s the whole
 * `next` frame once and sends that string to every subscribed socket.
 * No auth, no storage, no GraphQL.
 */
const subscribers = new Map<WebSocket, string>();
let seq = 0;

function publish(request: IncomingMessage, response: ServerResponse): void {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const { body } = JSON.parse(Buffer.concat(chunks).toString()) as { body: string };
    const message = { id: randomUUID(), seq: ++seq, body, createdAt: new Date().toISOString(), sender: { handle: 'bench#0001' } };
    // One frame per subscription id; the bench's subscribers all use "1", so one stringify per message.
    const frames = new Map<string, string>();
    for (const [socket, id] of subscribers) {
      let frame = frames.get(id);
      if (frame === undefined) frames.set(id, (frame = JSON.stringify({ id, type: 'next', payload: { data: { messageAdded: message } } })));
      socket.send(frame);
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ data: { publish: { id: message.id, seq: message.seq } } }));
  });
}

const httpServer = createServer((request, response) => {
  if (request.method === 'POST' && request.url === '/publish') return publish(request, response);
  response.writeHead(404).end();
});

// Without handleProtocols, ws accepts the client's first subprotocol (graphql-transport-ws).
const wss = new WebSocketServer({ server: httpServer, path: '/graphql' });
wss.on('connection', (socket) => {
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data)) as { type: string; id?: string };
    if (frame.type === 'connection_init') socket.send('{"type":"connection_ack"}');
    else if (frame.type === 'subscribe') subscribers.set(socket, frame.id ?? '');
    else if (frame.type === 'complete') subscribers.delete(socket);
  });
  socket.on('close', () => subscribers.delete(socket));
});

serve({
  ...probeHandlers(),
  start: async () => {
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const { port } = httpServer.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/graphql` };
  },
  stop: async () => {
    for (const socket of wss.clients) socket.terminate();
    await new Promise<void>((resolve) => wss.close(() => httpServer.close(() => resolve())));
    setImmediate(() => process.exit(0));
  },
});
