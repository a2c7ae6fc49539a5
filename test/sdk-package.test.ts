import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers/server.js';

// `chat-api/sdk` as an app outside this repository gets it: plain Node, no TypeScript loader,
// the compiled build that package.json's exports name (sdk/dist, made by `prepare`).

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;

let server: TestServer;
beforeAll(async () => {
  // The build the test imports is the build of the source under test, not a stale one.
  await run('npm', ['run', '--silent', 'build:sdk'], { cwd: root });
  server = await startServer();
}, 120_000);
afterAll(() => server?.stop());

/** Runs an ES module with plain `node` in the package root, where `chat-api/*` resolves through exports. */
async function node(source: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '--eval', source], { cwd: root, timeout: 30_000 });
  return stdout.trim();
}

describe('the SDK as a package', () => {
  it('imports in plain Node and chats: an identity, a live message, a send', async () => {
    const output = await node(`
      import WebSocket from 'ws';
      import { createChatClient, MessageAddedDocument } from 'chat-api/sdk';
      const chat = createChatClient({ url: ${JSON.stringify(server.url)}, webSocketImpl: WebSocket, nickname: 'Plain' });
      const session = await chat.ready();
      const lobby = (await chat.rooms({ first: 10 })).edges.find((e) => e.node.title === 'lobby').node;
      const received = new Promise((resolve) => chat.messageAdded({ roomId: lobby.id }, { next: resolve }));
      await new Promise((resolve) => { const off = chat.on('state', (s) => s === 'online' && resolve(off())); if (chat.state === 'online') resolve(); });
      await chat.sendMessage({ roomId: lobby.id, body: 'from plain node' });
      const message = await received;
      console.log(JSON.stringify({ handle: session.user.handle, body: message.body, typed: typeof MessageAddedDocument }));
      await chat.close();
    `);
    const result = JSON.parse(output.split('\n').at(-1)!) as { handle: string; body: string; typed: string };
    expect(result.handle).toMatch(/^Plain#\d{4}$/);
    expect(result.body).toBe('from plain node');
    expect(result.typed).toBe('object');
  });

  it('exports the Apollo link, the urql exchange and the codegen graphql() function as JavaScript with declarations', async () => {
    const output = await node(`
      import { ChatLink } from 'chat-api/sdk/apollo';
      import { chatExchange } from 'chat-api/sdk/urql';
      import { graphql } from 'chat-api/sdk/generated';
      console.log(JSON.stringify([typeof ChatLink, typeof chatExchange, typeof graphql, import.meta.resolve('chat-api/sdk')]));
    `);
    const [link, exchange, gql, resolved] = JSON.parse(output) as string[];
    expect([link, exchange, gql]).toEqual(['function', 'function', 'function']);
    expect(resolved).toMatch(/\/sdk\/dist\/index\.js$/);
  });
});
