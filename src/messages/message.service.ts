import { badInput } from '../errors.js';
import type { User } from '../identity/user.js';
import type { ChatPubSub } from '../topics.js';
import { errorMessage, type Logger } from '../logger.js';
import { decodeCursor, encodeCursor, pageOf, pageSize, type Connection } from '../paging.js';
import type { DirectInbox } from '../rooms/direct-inbox.js';
import type { RoomService } from '../rooms/room.service.js';
import type { MessageRepository } from './message.repository.js';
import { MessageWriter } from './message.writer.js';
import { UNOBSERVED, type MessageObserver } from './message-observer.js';
import { ADMIT_EVERY_SEND, type SendPolicy } from './send-policy.js';
import type { Message } from './message.js';

export const BODY_MAX = 2000;
export const CLIENT_MESSAGE_ID_MAX = 64;
const HISTORY_PAGE_DEFAULT = 50;
const HISTORY_PAGE_MAX = 100;
const MESSAGE_CURSOR = 'msg';
const SEQ = /^[1-9][0-9]{0,9}$/;
/** seq is a 32-bit integer column on PostgreSQL: a larger cursor names no message and must not reach the query. */
const SEQ_MAX = 2 ** 31 - 1;
// Newline and tab are part of writing; every other C0/C1 control is refused.
const FORBIDDEN_CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

export interface SendMessageInput {
  roomId: string;
  body: string;
  clientMessageId?: string | null;
}

export class MessageService {
  private readonly writer: MessageWriter;

  constructor(
    private readonly messages: MessageRepository,
    private readonly rooms: RoomService,
    private readonly pubsub: ChatPubSub,
    private readonly logger: Logger,
    private readonly inbox: DirectInbox,
    /** Moderation's say before a message is stored (blocklist, slow mode). */
    private readonly policy: SendPolicy = ADMIT_EVERY_SEND,
    private readonly observer: MessageObserver = UNOBSERVED,
  ) {
    this.writer = new MessageWriter(messages);
  }

  /** Sends waiting for the group commit (the writer queue). */
  get pendingWrites(): number {
    return this.writer.pending;
  }

  /**
   * Stores a message and then publishes it. The sender is the caller, never input.
   * A retry with the same clientMessageId returns the first message and publishes nothing.
   */
  async send(sender: User, input: SendMessageInput): Promise<Message> {
    const body = validateBody(input.body);
    const clientMessageId = validateClientMessageId(input.clientMessageId);
    const roomId = input.roomId;
    // The access rule, from the rooms cache after the first send. It also keeps a malformed id from
    // the database: PostgreSQL fails on a NUL byte, and that would fail every send of the same group commit.
    const room = await this.rooms.requireAccess(sender, roomId);
    let giveBack: () => void;
    try {
      giveBack = await this.policy.admit(sender, roomId, body);
    } catch (refusal) {
      // A retry of a stored message gets that message, even when a new one would be refused now (slow mode).
      const earlier = clientMessageId === null ? null : await this.messages.findByClientMessageId(roomId, sender.id, clientMessageId);
      if (earlier) return earlier;
      throw refusal;
    }
    // A retry needs no look-up first: its insert meets the unique index, and the writer answers with the stored message.
    const { message, created } = await this.writer.write({ sender, roomId, body, clientMessageId }).catch((error: unknown) => {
      giveBack();
      throw error;
    });
    if (!created) {
      giveBack();
      return message;
    }
    this.observer.stored(message);
    // Committed first, published second: a subscriber never sees a message the database does not have.
    // A failed publish loses nothing: subscribers fill the gap from the database on the next event.
    this.pubsub.publish('room.message', roomId, message).catch((error) => {
      // One line without a stack: during a Redis outage this happens for every message.
      this.logger.warn({ roomId, seq: message.seq, error: errorMessage(error) }, 'publishing a message failed; subscribers will fill the gap');
    });
    this.inbox.announce(room, message);
    return message;
  }

  /** The contract's backward paging: the newest `last` messages before the cursor, oldest first; `viewer` needs access. */
  async history(viewer: User | null, args: { roomId: string; last?: number | null; before?: string | null }): Promise<Connection<Message>> {
    const last = pageSize('last', args.last, HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX);
    const beforeSeq = args.before == null ? null : cursorSeq(args.before);
    await this.rooms.requireAccess(viewer, args.roomId);
    const newestFirst = await this.messages.listBefore(args.roomId, beforeSeq, last + 1);
    // Paging backwards from a cursor, the messages at and after it are the next page.
    return pageOf(newestFirst, last, (message) => encodeCursor(MESSAGE_CURSOR, message.seq), 'backward', beforeSeq !== null);
  }

  /** The message with this id, or null (ids that could never exist never reach the database). No access check: the caller's. */
  async find(messageId: string): Promise<Message | null> {
    return /^[0-9a-f-]{36}$/.test(messageId) ? this.messages.findById(messageId) : null;
  }

  /** The seq of message `messageId` in the room, for resuming after it; BAD_USER_INPUT if it is not there. */
  async seqOf(roomId: string, messageId: string): Promise<number> {
    const seq = /^[0-9a-f-]{36}$/.test(messageId) ? await this.messages.findSeq(roomId, messageId) : null;
    if (seq === null) throw badInput(`after: "${messageId.slice(0, 64)}" is not a message of this room`);
    return seq;
  }
}

function cursorSeq(cursor: string): number {
  const seq = Number(decodeCursor(MESSAGE_CURSOR, cursor, SEQ));
  if (seq > SEQ_MAX) throw badInput(`invalid cursor "${cursor.slice(0, 64)}"`);
  return seq;
}

function validateBody(raw: string): string {
  const body = raw.trim();
  if (body.length === 0) throw badInput('body must not be empty');
  if ([...body].length > BODY_MAX) throw badInput(`body must be at most ${BODY_MAX} characters`);
  if (FORBIDDEN_CONTROLS.test(body)) throw badInput('body must not contain control characters other than newline and tab');
  return body;
}

function validateClientMessageId(raw: string | null | undefined): string | null {
  if (raw == null) return null;
  if (raw.length < 1 || raw.length > CLIENT_MESSAGE_ID_MAX || !/^[\x21-\x7e]+$/.test(raw)) {
    throw badInput(`clientMessageId must be 1 to ${CLIENT_MESSAGE_ID_MAX} printable ASCII characters without spaces`);
  }
  return raw;
}
