import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/**
 * Writing ready-made WebSocket text frames straight to a socket's TCP stream,
 * for the fan-out: the bytes a message shares between its subscribers are
 * framed and serialised once, and each subscriber costs a few bytes of header
 * and id, not a copy and a pass through `ws`'s Sender.
 *
 * It relies on `ws` 8 internals (`_socket`, `_sender._state`, `_sender._queue`,
 * `_sender._firstFragment`, `_extensions`), checked once per socket by
 * `canWriteFrames`; a socket where they are not as expected, or that negotiated
 * an extension (permessage-deflate would have to compress and mark the frame),
 * is refused and the caller sends through `ws` as before. The rules `ws`'s
 * Sender follows, kept here: a server never masks (RFC 6455 §5.1); the length
 * is 7 bits below 126, 126 plus 16 bits below 65,536, else 127 plus 64 bits;
 * a frame is written whole and in order with whatever `ws` writes itself
 * (pings, pongs, closes), which is why a write is refused, and the caller falls
 * back to `ws.send`, while `ws` has frames of its own queued.
 */

/** The parts of a `ws` WebSocket (ws@8, lib/websocket.js and lib/sender.js) this file reads. */
interface WsInternals {
  _socket?: Socket | null;
  _extensions?: Record<string, unknown>;
  _sender?: { _state?: unknown; _queue?: unknown; _firstFragment?: unknown } | null;
}

/** Sender's state when it is neither compressing nor reading a Blob (lib/sender.js `DEFAULT`). */
const SENDER_IDLE = 0;

/** FIN + opcode 1 (text): one whole text message per frame. */
const FIN_TEXT = 0x81;

/** The length of a frame header (server to client: unmasked) for a payload of `length` bytes. */
export function headerLength(length: number): number {
  return length < 126 ? 2 : length < 65_536 ? 4 : 10;
}

/** Writes the header of an unmasked text frame for a payload of `length` bytes at `target[0..]`; returns its length. */
export function writeTextHeader(target: Buffer, length: number): number {
  target[0] = FIN_TEXT;
  if (length < 126) {
    target[1] = length;
    return 2;
  }
  if (length < 65_536) {
    target[1] = 126;
    target.writeUInt16BE(length, 2);
    return 4;
  }
  target[1] = 127;
  // 64-bit length; a JS Buffer is far below 2^48 bytes, so the top two bytes are zero.
  target[2] = target[3] = 0;
  target.writeUIntBE(length, 4, 6);
  return 10;
}

/**
 * The start of a text frame whose payload is `prefix` (`prefixLength` bytes of
 * UTF-8) followed by `tailLength` more bytes: the header and the prefix, in one
 * small buffer. Written before the shared tail, it makes one whole frame.
 */
export function frameHead(prefix: string, prefixLength: number, tailLength: number): Buffer {
  const length = prefixLength + tailLength;
  const headerBytes = headerLength(length);
  const head = Buffer.allocUnsafe(headerBytes + prefixLength);
  writeTextHeader(head, length);
  head.write(prefix, headerBytes, 'utf8');
  return head;
}

/** A whole text frame carrying `payload`, in one buffer. */
export function textFrame(payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(headerLength(payload.length) + payload.length);
  payload.copy(frame, writeTextHeader(frame, payload.length));
  return frame;
}

/**
 * Whether frames may be written straight to this socket (checked once per
 * socket; `writeFrames` checks the rest on every write): false when it
 * negotiated an extension, or `ws`'s internals are not what this file knows.
 */
export function canWriteFrames(socket: WebSocket): boolean {
  const { _socket: raw, _sender: sender, _extensions: extensions } = socket as unknown as WsInternals;
  if (!raw || typeof raw.write !== 'function' || typeof raw.cork !== 'function') return false;
  if (!sender || typeof sender._state !== 'number' || !Array.isArray(sender._queue) || typeof sender._firstFragment !== 'boolean') return false;
  return extensions !== undefined && Object.keys(extensions).length === 0;
}

/**
 * Writes whole frames (the chunks of one frame, in order) to a socket for which
 * `canWriteFrames` said yes, when it is open and `ws` has nothing of its own
 * waiting; false when it did not, and the caller should send through `ws`.
 * Writes in one turn of the event loop leave in one system call (`corkForThisTurn`).
 */
export function writeFrames(socket: WebSocket, first: Buffer, second: Buffer | null): boolean {
  const raw = writableNow(socket);
  if (!raw) return false;
  corkForThisTurn(raw);
  raw.write(first);
  if (second) raw.write(second);
  return true;
}

/** `writeFrames` for a frame in any number of chunks (shared slices of one rendering, say). */
export function writeFrameParts(socket: WebSocket, parts: readonly Buffer[]): boolean {
  const raw = writableNow(socket);
  if (!raw) return false;
  corkForThisTurn(raw);
  for (const part of parts) raw.write(part);
  return true;
}

/** The socket's TCP stream when a frame may be written to it now (see writeFrames), else null. */
function writableNow(socket: WebSocket): Socket | null {
  const { _socket: raw, _sender: sender } = socket as unknown as Required<WsInternals>;
  if (socket.readyState !== socket.OPEN || !raw || raw.destroyed || !sender) return null;
  // ws is compressing or reading a Blob (its own frames wait in its queue), or is between
  // the fragments of a message: a frame written now would overtake them or split a message.
  if (sender._state !== SENDER_IDLE || (sender._queue as unknown[]).length > 0 || !sender._firstFragment) return null;
  return raw;
}

/** Sockets corked in this turn of the event loop, uncorked together at its end. */
let corked: Socket[] = [];
let flushScheduled = false;

/**
 * Holds the socket's writes until the end of the current turn (after the
 * microtasks of this turn, on `process.nextTick`), so everything it gets from
 * the messages dispatched in one turn goes out in one `writev`. Frames `ws`
 * writes meanwhile (a ping, a close) are corked too and keep their place
 * after the frames before them; `bufferedAmount` counts the held bytes, so
 * the slow-consumer rule sees them.
 */
export function corkForThisTurn(raw: Socket): void {
  // Corked already: by this turn (ws's own cork/uncork in Sender.sendFrame never outlives its call).
  if (raw.writableCorked > 0) return;
  raw.cork();
  corked.push(raw);
  if (!flushScheduled) {
    flushScheduled = true;
    process.nextTick(uncorkAll);
  }
}

function uncorkAll(): void {
  const sockets = corked;
  corked = [];
  flushScheduled = false;
  for (const raw of sockets) {
    // end() uncorks by itself; uncork() on an uncorked or destroyed socket does nothing.
    if (raw.writableCorked > 0) raw.uncork();
  }
}
