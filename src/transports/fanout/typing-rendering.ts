import type { User } from '../../identity/user.js';
import { frameHead } from '../websocket/raw-frames.js';
import type { Shape } from './shapes.js';

/**
 * One typing update rendered once for every subscriber of a shape. Each
 * subscriber's view is the room's list without themselves, so the rendering
 * keeps every list of users in the payload (`users`, and any alias of it) as
 * its elements' JSON joined by commas, with where each element ends: a view
 * that leaves out element k is the bytes before it and the bytes after it, two
 * slices of the same buffer. Every view's payload is then a handful of shared
 * chunks, byte for byte what executing that view alone would give.
 */
export class TypingRendering {
  /** The update's payload for subscribers who do not type (every list whole), built on first use. */
  private wholePayload: Buffer | null = null;
  /** The whole frame of everyone's view for the subscription id seen last (wholeFrame). */
  private lastWhole: { id: string; frame: Buffer } | null = null;

  private constructor(
    /** The payload's fixed text, around the lists: segments[i], list i, segments[i + 1], …; the last one closes the message. */
    private readonly segments: readonly Buffer[],
    private readonly lists: readonly RenderedList[],
  ) {}

  /**
   * Renders `everyone` in `roomId` for `shape`; null when the result is not of
   * the form this splits (an error in it, or a list that is not one entry per
   * user): its subscribers then render their own views.
   */
  static of(shape: Shape, roomId: string, everyone: readonly User[]): TypingRendering | null {
    const payload = shape.payloadOf({ roomId, users: everyone });
    if (payload.errors || !payload.data) return null;
    const [rootKey, ...others] = Object.keys(payload.data);
    const update = payload.data[rootKey!];
    if (others.length > 0 || update === null || typeof update !== 'object') return null;
    // The very text JSON.stringify(payload) would give, cut around the arrays (TypingUpdate's only lists are users).
    const segments: Buffer[] = [];
    const lists: RenderedList[] = [];
    let text = `{"data":{${JSON.stringify(rootKey)}:{`;
    let first = true;
    for (const [key, value] of Object.entries(update)) {
      text += `${first ? '' : ','}${JSON.stringify(key)}:`;
      first = false;
      if (Array.isArray(value)) {
        if (value.length !== everyone.length) return null;
        segments.push(Buffer.from(`${text}[`));
        lists.push(RenderedList.of(value));
        text = ']';
      } else text += JSON.stringify(value);
    }
    // The update, data and payload objects, then the `next` message itself.
    segments.push(Buffer.from(`${text}}}}}`));
    return new TypingRendering(segments, lists);
  }

  /** The length in bytes of the payload for the view without user `selfIndex` (-1: everyone). */
  lengthWithout(selfIndex: number): number {
    let length = 0;
    for (const segment of this.segments) length += segment.length;
    for (const list of this.lists) length += list.lengthWithout(selfIndex);
    return length;
  }

  /** The payload for the view without user `selfIndex` (-1: everyone), as chunks to write in order. */
  partsWithout(selfIndex: number): Buffer[] {
    if (selfIndex < 0) return [this.whole()];
    const parts: Buffer[] = [];
    for (let i = 0; i < this.lists.length; i++) {
      parts.push(this.segments[i]!);
      this.lists[i]!.partsWithout(selfIndex, parts);
    }
    parts.push(this.segments[this.lists.length]!);
    return parts;
  }

  /**
   * Everyone's view as one whole frame for subscription `id`, whose `next`
   * prefix is `prefix`. Most subscribers of a room do not type, and most
   * client libraries number their subscriptions alike: those behind the same
   * id as the one before get the very same frame, one chunk to write.
   */
  wholeFrame(id: string, prefix: string, prefixLength: number): Buffer {
    if (this.lastWhole?.id === id) return this.lastWhole.frame;
    const payload = this.whole();
    const frame = Buffer.concat([frameHead(prefix, prefixLength, payload.length), payload]);
    this.lastWhole = { id, frame };
    return frame;
  }

  /** One buffer for everyone's view: most subscribers of a room do not type, and one chunk is cheapest to write. */
  private whole(): Buffer {
    if (this.wholePayload) return this.wholePayload;
    const parts: Buffer[] = [];
    for (let i = 0; i < this.lists.length; i++) parts.push(this.segments[i]!, this.lists[i]!.bytes);
    parts.push(this.segments[this.lists.length]!);
    return (this.wholePayload = Buffer.concat(parts));
  }
}

/** One list of users, rendered: its elements' JSON joined by commas, and the byte offset where each element ends. */
class RenderedList {
  private constructor(
    readonly bytes: Buffer,
    private readonly ends: Uint32Array,
  ) {}

  static of(elements: readonly unknown[]): RenderedList {
    const texts = elements.map((element) => JSON.stringify(element));
    const ends = new Uint32Array(texts.length);
    let at = 0;
    for (let i = 0; i < texts.length; i++) {
      at += (i > 0 ? 1 : 0) + Buffer.byteLength(texts[i]!);
      ends[i] = at;
    }
    return new RenderedList(Buffer.from(texts.join(',')), ends);
  }

  lengthWithout(selfIndex: number): number {
    if (selfIndex < 0) return this.bytes.length;
    if (this.ends.length === 1) return 0;
    // The element, and one comma.
    const start = selfIndex === 0 ? 0 : this.ends[selfIndex - 1]! + 1;
    return this.bytes.length - (this.ends[selfIndex]! - start) - 1;
  }

  /** Appends to `parts` the slices that make the list without element `selfIndex`. */
  partsWithout(selfIndex: number, parts: Buffer[]): void {
    const ends = this.ends;
    if (ends.length === 1) return;
    // Without the first: everything after its comma.
    if (selfIndex === 0) return void parts.push(this.bytes.subarray(ends[0]! + 1));
    // Else the elements before it (no trailing comma), then everything after it (",next…", or nothing for the last).
    parts.push(this.bytes.subarray(0, ends[selfIndex - 1]!));
    if (selfIndex < ends.length - 1) parts.push(this.bytes.subarray(ends[selfIndex]!));
  }
}
