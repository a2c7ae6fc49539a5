import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type DocumentNode, type FormattedExecutionResult } from 'graphql';
import { Connection, type ConnectionState, type TransportKind } from './connection.js';
import { isSubscription, operationOf } from './documents.js';
import { ChatError } from './errors.js';
import {
  BanUserDocument,
  CreateRoomDocument,
  DirectMessageAddedDocument,
  DirectRoomsDocument,
  HistoryDocument,
  IssueTokenDocument,
  MatchFoundDocument,
  MeDocument,
  MessageAddedDocument,
  NoticesDocument,
  OpenDirectRoomDocument,
  ParticipantCountDocument,
  ParticipantsDocument,
  RenewTokenDocument,
  ReportMessageDocument,
  ReportsDocument,
  RoomDocument,
  RoomsDocument,
  SendMessageDocument,
  SendNoticeDocument,
  SetSlowModeDocument,
  SetTypingDocument,
  TypingDocument,
  UnbanUserDocument,
  type ChatMessageFragment,
  type ChatNoticeFragment,
  type ChatRoomFragment,
  type CreateRoomMutation,
  type DirectRoomsQuery,
  type DirectRoomsQueryVariables,
  type HistoryQuery,
  type HistoryQueryVariables,
  type MatchFoundSubscription,
  type MeQuery,
  type MessageAddedSubscriptionVariables,
  type ParticipantCountSubscription,
  type ParticipantsQuery,
  type ReportsSubscription,
  type RoomsQuery,
  type RoomsQueryVariables,
  type SendMessageMutationVariables,
  type TypingSubscription,
} from './generated/graphql.js';
import { postGraphQL, type FetchLike, type HttpEndpoint, type Sink } from './http.js';
import { Identity, isExpired, memoryStorage, type ChatStorage, type Session } from './identity.js';
import { LiveOperation } from './live.js';

export type { ConnectionState, TransportKind } from './connection.js';

/** Printed once: setTyping is sent every few seconds while someone types. */
const SET_TYPING_QUERY = print(SetTypingDocument);

export interface ChatClientOptions {
  /** The GraphQL endpoint over HTTP, e.g. `http://localhost:4000/graphql`; a relative URL resolves against the page. */
  url: string;
  /**
   * Where the identity is kept between visits (`localStorage` in a browser).
   * @default memoryStorage(): a new user every time the process starts
   */
  storage?: ChatStorage;
  /** @default 'chat-api.session' */
  storageKey?: string;
  /** Nickname of the user made on a first visit. @default a random one, chosen by the server */
  nickname?: string;
  /**
   * A fixed bearer token instead of an identity of the client's own: the
   * server's ADMIN_TOKEN for operators. Nothing is stored, issued or renewed.
   */
  token?: string;
  /** @default url with ws: / wss: */
  wsUrl?: string;
  /** The WebSocket class (Node 20: `ws`'s default export). @default globalThis.WebSocket */
  webSocketImpl?: unknown;
  /** @default globalThis.fetch */
  fetchImpl?: FetchLike;
  /**
   * 'auto' uses WebSocket and falls back to SSE when sockets never open while
   * HTTP answers (a proxy that blocks them), or when the runtime has none.
   * @default 'auto'
   */
  transport?: 'auto' | TransportKind;
  /** A ping this often on an idle socket... @default 10_000 */
  keepAliveMs?: number;
  /** ...and a socket whose pong takes longer than this is taken for lost. @default 5_000 */
  pongTimeoutMs?: number;
  /** Wait before reconnect attempt n (0, 1, …). @default 0–300 ms, then doubling from 1 s to 10 s, with jitter */
  retryDelayMs?: (attempt: number) => number;
  /**
   * After falling back to SSE, the wait before WebSocket is tried again (attempt
   * 0, 1, …); subscriptions move back to it, with no gap, once a socket is acknowledged.
   * @default 30 s, doubling to 5 min
   */
  webSocketRetryMs?: (attempt: number) => number;
  /** How long before its expiry a token is renewed, given its remaining lifetime. @default min(60 s, a fifth of it) */
  renewBeforeExpiryMs?: (remainingMs: number) => number;
}

export interface Observer<T> {
  next(value: T): void;
  /** The server ended the subscription with an error (FORBIDDEN, NOT_FOUND…); it is over. */
  error?(error: ChatError): void;
  /** The server completed it (matchFound after its match). */
  complete?(): void;
}

export type Unsubscribe = () => void;

interface Events {
  state: ConnectionState;
  session: Session;
}

/**
 * A chat client that does the hard parts: identity, renewal, reconnecting and
 * resuming. Every call is typed from sdk/operations.graphql.
 */
export interface ChatClient {
  /** connecting, online or reconnecting; `on('state')` tells every change. */
  readonly state: ConnectionState;
  /** What carries subscriptions: 'websocket', or 'sse' where WebSocket is blocked. */
  readonly transport: TransportKind;
  /** The current identity (null until the first one is loaded or issued, and with a fixed `token`). */
  readonly session: Session | null;
  /** The identity, loading, restoring or issuing it first. */
  ready(): Promise<Session>;
  on<E extends keyof Events>(event: E, listener: (value: Events[E]) => void): Unsubscribe;

  /** Any query or mutation of the contract, over HTTP with the token. Throws ChatError. */
  request<R, V extends Record<string, unknown>>(document: TypedDocumentNode<R, V>, variables?: V): Promise<R>;
  /**
   * Any subscription of the contract. It survives reconnects by itself; a
   * messageAdded subscription resumes after the last message it delivered, with
   * no gap and no duplicate.
   */
  subscribe<R, V extends Record<string, unknown>>(document: TypedDocumentNode<R, V>, variables: V, observer: Observer<R>): Unsubscribe;
  /** request() without the unwrapping: the raw result, errors and all (for Apollo links and urql exchanges). */
  execute(document: DocumentNode, variables?: Record<string, unknown>, operationName?: string | null): Promise<FormattedExecutionResult>;
  /** subscribe() without the unwrapping (for Apollo links and urql exchanges). */
  stream(document: DocumentNode, variables: Record<string, unknown>, sink: Sink<FormattedExecutionResult>, operationName?: string | null): Unsubscribe;

  me(): Promise<MeQuery['me']>;
  /** A room the viewer may see (null for none, and for someone else's direct room). */
  room(id: string): Promise<ChatRoomFragment | null>;
  /** Public rooms. */
  rooms(variables?: RoomsQueryVariables): Promise<RoomsQuery['rooms']>;
  /** The viewer's direct rooms, the most recently active first. */
  directRooms(variables?: DirectRoomsQueryVariables): Promise<DirectRoomsQuery['directRooms']>;
  /** Who is in the room now (at most `first`) and how many. */
  participants(roomId: string, first?: number): Promise<ParticipantsQuery['room']>;
  /** History, oldest first within a page; page back with `before: pageInfo.startCursor`. */
  messages(variables: HistoryQueryVariables): Promise<HistoryQuery['messages']>;
  createRoom(title: string): Promise<CreateRoomMutation['createRoom']>;
  /** The direct room of the viewer and this user (the same one every time). */
  openDirectRoom(userId: string): Promise<ChatRoomFragment>;
  /**
   * Sends once, whatever the retries: a clientMessageId is made when none is
   * given, and a send that met a network error or UNAVAILABLE (the server's
   * database busy) is retried with it, a few times.
   */
  sendMessage(input: SendMessageMutationVariables): Promise<ChatMessageFragment>;
  /** The viewer is typing (lapses by itself 5 s after the last true) or stopped. Over the open socket when there is one, else HTTP. */
  setTyping(roomId: string, typing: boolean): Promise<boolean>;
  reportMessage(messageId: string, reason?: string | null): Promise<boolean>;
  /** A fresh token now (the client also does this by itself before expiry). */
  renewToken(): Promise<Session>;
  /** A new user with this nickname; the socket reconnects as them. */
  changeNickname(nickname: string): Promise<Session>;

  /** Operators (a client made with `token: ADMIN_TOKEN`): a notice to everyone, or to one user. */
  sendNotice(body: string, userId?: string | null): Promise<ChatNoticeFragment>;
  setSlowMode(roomId: string, seconds: number): Promise<ChatRoomFragment>;
  banUser(userId: string, seconds?: number | null): Promise<boolean>;
  unbanUser(userId: string): Promise<boolean>;

  /** New messages in the room; resumes after the last one delivered on every reconnect. */
  messageAdded(variables: MessageAddedSubscriptionVariables, observer: Observer<ChatMessageFragment>): Unsubscribe;
  participantCount(variables: { roomId: string }, observer: Observer<ParticipantCountSubscription['participantCount']>): Unsubscribe;
  /** Who is typing in the room (the viewer excluded): the current set, then every change. */
  typing(variables: { roomId: string }, observer: Observer<TypingSubscription['typing']>): Unsubscribe;
  /** Waits for a random partner (on `topic`); one match arrives, then it completes. Unsubscribing leaves the queue. */
  matchFound(variables: { topic?: string | null }, observer: Observer<MatchFoundSubscription['matchFound']>): Unsubscribe;
  /** Notices from the operators, from now on. */
  notices(observer: Observer<ChatNoticeFragment>): Unsubscribe;
  /** New messages in all of the viewer's direct rooms, their own excluded. */
  directMessageAdded(observer: Observer<ChatMessageFragment>): Unsubscribe;
  /** Operators: reports as they are made. */
  reports(observer: Observer<ReportsSubscription['reports']>): Unsubscribe;

  /** Closes the socket and ends every subscription. */
  close(): Promise<void>;
}

const MESSAGE_SEND_RETRIES = 3;
const RENEW_RETRY_MS = 5_000;

function defaultRetryDelay(attempt: number): number {
  if (attempt === 0) return Math.random() * 300;
  const base = Math.min(10_000, 1_000 * 2 ** (attempt - 1));
  return base / 2 + (Math.random() * base) / 2;
}

/** A UUID also where crypto.randomUUID is missing (pages served over plain http to another host). */
export function randomId(): string {
  const crypto = globalThis.crypto;
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function createChatClient(options: ChatClientOptions): ChatClient {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  const url = new URL(options.url, base).toString();
  const wsUrl = options.wsUrl ?? url.replace(/^http/, 'ws');
  const fetchImpl: FetchLike = options.fetchImpl ?? ((input, init) => globalThis.fetch(input, init));
  const http: HttpEndpoint = { url, fetch: fetchImpl };

  const listeners: { [E in keyof Events]: Set<(value: Events[E]) => void> } = { state: new Set(), session: new Set() };
  const emit = <E extends keyof Events>(event: E, value: Events[E]) => {
    for (const listener of listeners[event]) listener(value);
  };

  const issue = async (variables: Record<string, unknown>): Promise<Session> => {
    const result = await postGraphQL(http, { query: print(IssueTokenDocument), variables, operationName: 'IssueToken' }, null);
    if (!result.data?.issueToken) throw ChatError.fromErrors(result.errors ?? []);
    return result.data.issueToken as Session;
  };

  let renewTimer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const identity = options.token
    ? null
    : new Identity({
        storage: options.storage ?? memoryStorage(),
        storageKey: options.storageKey ?? 'chat-api.session',
        nickname: options.nickname,
        issue,
        onChange: (session) => {
          scheduleRenewal(session);
          emit('session', session);
        },
      });
  const bearer = async (): Promise<string | null> => options.token ?? (identity ? identity.token() : null);

  /** Resume points of messageAdded subscriptions still being taken (see LiveHost.query). */
  const resumePoints = new Set<Promise<unknown>>();

  async function execute(document: DocumentNode | string, variables: Record<string, unknown> = {}, operationName?: string | null): Promise<FormattedExecutionResult> {
    if (resumePoints.size > 0 && typeof document !== 'string' && operationOf(document, operationName).operation === 'mutation') {
      await Promise.allSettled([...resumePoints]);
    }
    const query = typeof document === 'string' ? document : print(document);
    const send = async (token: string | null) => postGraphQL(http, { query, variables, operationName: operationName ?? null }, token);
    const token = await bearer();
    const result = await send(token);
    if (identity && result.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED') {
      // The server no longer takes the stored token (expired while asleep, a new server secret): restore and retry once.
      return send((await identity.recover(token)).token);
    }
    return result;
  }

  const connection = new Connection({
    wsUrl,
    webSocketImpl: options.webSocketImpl,
    transport: options.transport ?? 'auto',
    http,
    bearer,
    recoverToken: async (rejected) => void (await identity?.recover(rejected)),
    query: (document, variables, resumePoint) => {
      const answer = execute(document, variables);
      if (resumePoint) {
        resumePoints.add(answer);
        void answer.catch(() => {}).finally(() => resumePoints.delete(answer));
      }
      return answer;
    },
    keepAliveMs: options.keepAliveMs ?? 10_000,
    pongTimeoutMs: options.pongTimeoutMs ?? 5_000,
    retryDelayMs: options.retryDelayMs ?? defaultRetryDelay,
    webSocketRetryMs: options.webSocketRetryMs,
    onState: (state) => emit('state', state),
  });

  function scheduleRenewal(session: Session): void {
    clearTimeout(renewTimer);
    if (closed) return;
    const remaining = Date.parse(session.expiresAt) - Date.now();
    const before = options.renewBeforeExpiryMs?.(remaining) ?? Math.min(60_000, remaining / 5);
    renewTimer = setTimeout(() => void renew().catch(() => {}), Math.max(0, Math.min(remaining - before, 2 ** 31 - 1)));
  }

  /**
   * Over the open socket when there is one, so the server moves the socket's
   * expiry too and it never closes; over HTTP otherwise. A server without
   * renewToken (or a token already expired) gets issueToken(previousToken)
   * and a new socket instead.
   */
  async function renew(): Promise<Session> {
    if (!identity) throw new Error('a client with a fixed token does not renew it');
    const current = await identity.ready();
    let result: FormattedExecutionResult;
    try {
      result = await (connection.requestOverSocket({ query: print(RenewTokenDocument), operationName: 'RenewToken' }) ?? postGraphQL(http, { query: print(RenewTokenDocument), operationName: 'RenewToken' }, current.token));
    } catch (error) {
      if (!isExpired(current)) {
        clearTimeout(renewTimer);
        renewTimer = setTimeout(() => void renew().catch(() => {}), RENEW_RETRY_MS);
      }
      throw error;
    }
    const renewed = result.data?.renewToken as Session | undefined;
    if (renewed) return identity.renewed(renewed);
    const session = await identity.recover(current.token);
    if (connection.kind === 'websocket') connection.restartSocket();
    return session;
  }

  /**
   * Over the open socket when there is one: setTyping is the call a client
   * makes most (every few seconds while its user types), and on the socket it
   * is no HTTP request for the client and about half the work of one for the
   * server (docs/benchmarks.md). Over HTTP otherwise, and when the socket
   * closed before answering.
   */
  async function setTyping(roomId: string, typing: boolean): Promise<boolean> {
    const variables = { roomId, typing };
    const result = await connection.requestOverSocket({ query: SET_TYPING_QUERY, operationName: 'SetTyping', variables })?.catch(() => null);
    if (!result) return (await request(SetTypingDocument, variables)).setTyping;
    if (result.errors?.length || !result.data) throw ChatError.fromErrors(result.errors ?? []);
    return result.data.setTyping as boolean;
  }

  async function request<R>(document: TypedDocumentNode<R, any>, variables?: Record<string, unknown>): Promise<R> {
    const result = await execute(document, variables ?? {});
    if (result.errors?.length || !result.data) throw ChatError.fromErrors(result.errors ?? []);
    return result.data as R;
  }

  function stream(document: DocumentNode, variables: Record<string, unknown>, sink: Sink<FormattedExecutionResult>, operationName?: string | null): Unsubscribe {
    if (!isSubscription(document, operationName)) {
      // Links and exchanges send every operation here; queries and mutations go over HTTP.
      let cancelled = false;
      execute(document, variables, operationName).then(
        (result) => {
          if (cancelled) return;
          sink.next(result);
          sink.complete();
        },
        (error: unknown) => !cancelled && sink.error(error),
      );
      return () => void (cancelled = true);
    }
    const operation = new LiveOperation(connection, document, variables, operationName ?? operationOf(document).name?.value ?? null, sink);
    connection.add(operation);
    return () => connection.remove(operation);
  }

  function subscribe<R>(document: TypedDocumentNode<R, any>, variables: Record<string, unknown>, observer: Observer<R>): Unsubscribe {
    return stream(document, variables, {
      next: (result) => observer.next(result.data as R),
      error: (error) => observer.error?.(error instanceof ChatError ? error : ChatError.fromErrors(error as never)),
      complete: () => observer.complete?.(),
    });
  }

  /** The root field of each event: the message, the count… */
  function field<R, K extends keyof R>(key: K, observer: Observer<R[K]>): Observer<R> {
    return { next: (data) => observer.next(data[key]), error: (error) => observer.error?.(error), complete: () => observer.complete?.() };
  }

  async function sendMessage(input: SendMessageMutationVariables): Promise<ChatMessageFragment> {
    const variables = { ...input, clientMessageId: input.clientMessageId ?? randomId() };
    for (let attempt = 0; ; attempt++) {
      try {
        return (await request(SendMessageDocument, variables)).sendMessage;
      } catch (error) {
        // A network error, or the server busy (UNAVAILABLE: nothing stored): the same clientMessageId makes the retry safe.
        const retriable = error instanceof ChatError && (error.code === 'NETWORK_ERROR' || error.code === 'UNAVAILABLE');
        if (!retriable || attempt >= MESSAGE_SEND_RETRIES) throw error;
        const waitMs = error.retryAfterSeconds !== null ? error.retryAfterSeconds * 1000 : 500 * 2 ** attempt;
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  return {
    get state() {
      return connection.state;
    },
    get transport() {
      return connection.kind;
    },
    get session() {
      return identity?.session ?? null;
    },
    ready: () => (identity ? identity.ready() : Promise.reject(new Error('a client with a fixed token has no identity of its own'))),
    on(event, listener) {
      listeners[event].add(listener);
      return () => void listeners[event].delete(listener);
    },
    request: (document, variables) => request(document, variables),
    subscribe: (document, variables, observer) => subscribe(document, variables, observer),
    execute: (document, variables, operationName) => execute(document, variables, operationName),
    stream,

    me: async () => (await request(MeDocument)).me,
    room: async (id) => (await request(RoomDocument, { id })).room ?? null,
    rooms: async (variables) => (await request(RoomsDocument, variables)).rooms,
    directRooms: async (variables) => (await request(DirectRoomsDocument, variables)).directRooms,
    participants: async (roomId, first) => (await request(ParticipantsDocument, { roomId, first })).room,
    messages: async (variables) => (await request(HistoryDocument, variables)).messages,
    createRoom: async (title) => (await request(CreateRoomDocument, { title })).createRoom,
    openDirectRoom: async (userId) => (await request(OpenDirectRoomDocument, { userId })).openDirectRoom,
    sendMessage,
    setTyping,
    reportMessage: async (messageId, reason) => (await request(ReportMessageDocument, { messageId, reason })).reportMessage,
    renewToken: renew,
    async changeNickname(nickname) {
      if (!identity) throw new Error('a client with a fixed token has no identity of its own');
      const session = await identity.changeNickname(nickname);
      connection.restartSocket();
      return session;
    },

    sendNotice: async (body, userId) => (await request(SendNoticeDocument, { body, userId })).sendNotice,
    setSlowMode: async (roomId, seconds) => (await request(SetSlowModeDocument, { roomId, seconds })).setSlowMode,
    banUser: async (userId, seconds) => (await request(BanUserDocument, { userId, seconds })).banUser,
    unbanUser: async (userId) => (await request(UnbanUserDocument, { userId })).unbanUser,

    messageAdded: (variables, observer) => subscribe(MessageAddedDocument, variables, field('messageAdded', observer)),
    participantCount: (variables, observer) => subscribe(ParticipantCountDocument, variables, field('participantCount', observer)),
    typing: (variables, observer) => subscribe(TypingDocument, variables, field('typing', observer)),
    matchFound: (variables, observer) => subscribe(MatchFoundDocument, variables, field('matchFound', observer)),
    notices: (observer) => subscribe(NoticesDocument, {}, field('notices', observer)),
    directMessageAdded: (observer) => subscribe(DirectMessageAddedDocument, {}, field('directMessageAdded', observer)),
    reports: (observer) => subscribe(ReportsDocument, {}, field('reports', observer)),

    async close() {
      closed = true;
      clearTimeout(renewTimer);
      await connection.close();
    },
  };
}
