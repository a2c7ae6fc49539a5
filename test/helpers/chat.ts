import { gqlOk } from './graphql.js';

/** Users and rooms made through the public API, as a real client would. */
export interface TestUser {
  token: string;
  expiresAt: string;
  user: { id: string; nickname: string; tag: string; handle: string };
}

export const LOBBY_TITLE = 'lobby';

export async function issueToken(url: string, args: { nickname?: string; previousToken?: string } = {}): Promise<TestUser> {
  const data = await gqlOk<{ issueToken: TestUser }>(
    url,
    `mutation($nickname: String, $previousToken: String) {
      issueToken(nickname: $nickname, previousToken: $previousToken) { token expiresAt user { id nickname tag handle } }
    }`,
    args,
  );
  return data.issueToken;
}

export async function createRoom(url: string, token: string, title = `room ${Math.random().toString(36).slice(2, 8)}`): Promise<{ id: string; title: string }> {
  const data = await gqlOk<{ createRoom: { id: string; title: string } }>(
    url,
    'mutation($title: String!) { createRoom(input: { title: $title }) { id title } }',
    { title },
    token,
  );
  return data.createRoom;
}

export interface SentMessage {
  id: string;
  seq: number;
  body: string;
  roomId: string;
  clientMessageId: string | null;
  sender: { id: string; handle: string };
}

export async function sendMessage(url: string, token: string, roomId: string, body: string, clientMessageId?: string): Promise<SentMessage> {
  const data = await gqlOk<{ sendMessage: SentMessage }>(
    url,
    `mutation($input: SendMessageInput!) {
      sendMessage(input: $input) { id seq body roomId clientMessageId sender { id handle } }
    }`,
    { input: { roomId, body, clientMessageId } },
    token,
  );
  return data.sendMessage;
}

export async function lobbyId(url: string): Promise<string> {
  const data = await gqlOk<{ rooms: { edges: { node: { id: string; title: string } }[] } }>(url, '{ rooms(first: 100) { edges { node { id title } } } }');
  const lobby = data.rooms.edges.find((e) => e.node.title === LOBBY_TITLE);
  if (!lobby) throw new Error('no lobby');
  return lobby.node.id;
}
