/**
 * The fields the fan-out fast paths may render, by type. Each one resolves
 * synchronously from the published event alone (a Message: its sender travels
 * with it; a TypingUpdate: its users do) and reads nothing from the context or
 * the viewer, so one rendering of an event is byte for byte what every
 * subscriber's own execution would give.
 * An operation that selects anything else takes the general path (one
 * execution per subscriber), where anything goes.
 *
 * Adding a field to Message, User or TypingUpdate means deciding: here, if it is synchronous
 * and the same for every viewer; in GENERAL_PATH_FIELDS otherwise (an `isMine`,
 * a field that loads something). test/fanout-fields.test.ts fails on a field in
 * neither list, and on a listed field that reads the context or returns a promise.
 */
export const RENDER_SAFE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Message: ['id', 'roomId', 'seq', 'sender', 'body', 'createdAt', 'clientMessageId'],
  User: ['id', 'nickname', 'tag', 'handle'],
  TypingUpdate: ['roomId', 'users'],
};

/** Fields decided against the fast path: selecting one sends the operation down the general path. */
export const GENERAL_PATH_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Message: [],
  User: [],
  TypingUpdate: [],
};

/** Directives that change the selection but not how a field resolves (their variables are part of the shape). */
export const RENDER_SAFE_DIRECTIVES: readonly string[] = ['include', 'skip'];
