import { gql, gqlOk, type GraphQLResponse } from './graphql.js';

/** Operators' tools through the public API, with the admin token as the bearer. */

/** The ADMIN_TOKEN the moderation tests run with: 32 printable characters and more. */
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdefghijklmnop';

export const SET_SLOW_MODE = 'mutation($roomId: ID!, $seconds: Int!) { setSlowMode(roomId: $roomId, seconds: $seconds) { id slowModeSeconds } }';
export const BAN_USER = 'mutation($userId: ID!, $seconds: Int) { banUser(userId: $userId, seconds: $seconds) }';
export const UNBAN_USER = 'mutation($userId: ID!) { unbanUser(userId: $userId) }';
export const SEND_NOTICE = 'mutation($body: String!, $userId: ID) { sendNotice(body: $body, userId: $userId) { id body audience createdAt } }';
export const REPORT_MESSAGE = 'mutation($messageId: ID!, $reason: String) { reportMessage(messageId: $messageId, reason: $reason) }';
export const REPORTS = 'subscription { reports { id reason createdAt message { id body roomId } reporter { id handle } } }';
export const NOTICES = 'subscription { notices { id body audience createdAt } }';
export const SEND = 'mutation($roomId: ID!, $body: String!, $c: String) { sendMessage(input: { roomId: $roomId, body: $body, clientMessageId: $c }) { id seq body } }';

export interface NoticeEvent {
  notices: { id: string; body: string; audience: 'EVERYONE' | 'USER'; createdAt: string };
}

export interface ReportEvent {
  reports: { id: string; reason: string | null; createdAt: string; message: { id: string; body: string; roomId: string }; reporter: { id: string; handle: string } };
}

export async function setSlowMode(url: string, roomId: string, seconds: number): Promise<void> {
  await gqlOk(url, SET_SLOW_MODE, { roomId, seconds }, ADMIN_TOKEN);
}

export async function banUser(url: string, userId: string, seconds?: number): Promise<void> {
  await gqlOk(url, BAN_USER, { userId, seconds }, ADMIN_TOKEN);
}

export async function unbanUser(url: string, userId: string): Promise<void> {
  await gqlOk(url, UNBAN_USER, { userId }, ADMIN_TOKEN);
}

export async function sendNotice(url: string, body: string, userId?: string): Promise<NoticeEvent['notices']> {
  return (await gqlOk<{ sendNotice: NoticeEvent['notices'] }>(url, SEND_NOTICE, { body, userId }, ADMIN_TOKEN)).sendNotice;
}

/** sendMessage as it answers, refusals included. */
export function trySend(url: string, token: string, roomId: string, body: string, clientMessageId?: string): Promise<GraphQLResponse<{ sendMessage: { id: string; seq: number; body: string } }>> {
  return gql(url, SEND, { roomId, body, c: clientMessageId }, token);
}

/** The bodies of a room's newest messages, oldest first: what was stored. */
export async function storedBodies(url: string, roomId: string): Promise<string[]> {
  const data = await gqlOk<{ messages: { edges: { node: { body: string } }[] } }>(url, 'query($r: ID!) { messages(roomId: $r, last: 100) { edges { node { body } } } }', { r: roomId });
  return data.messages.edges.map((edge) => edge.node.body);
}
