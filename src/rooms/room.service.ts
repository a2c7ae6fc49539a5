import { badInput, notFound } from '../errors.js';
import { uuidv7 } from '../infrastructure/ids.js';
import { decodeCursor, encodeCursor, pageOf, pageSize, type Connection } from '../paging.js';
import type { RoomRepository } from './room.repository.js';
import { isRoomId, roomRowToRoom, type Room } from './room.js';

export const TITLE_MAX = 64;
const ROOMS_PAGE_DEFAULT = 20;
const ROOMS_PAGE_MAX = 100;
const KNOWN_ROOMS_CACHE = 10_000;
const ROOM_CURSOR = 'room';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

export class RoomService {
  /** Rooms are never changed or deleted, so one seen is known for good; saves a read per history page. */
  private readonly known = new Map<string, Room>();

  constructor(private readonly rooms: RoomRepository) {}

  async create(input: { title: string }): Promise<Room> {
    const title = input.title.trim();
    const length = [...title].length;
    if (length < 1 || length > TITLE_MAX) throw badInput(`title must be 1 to ${TITLE_MAX} characters after trimming`);
    if (CONTROL_CHARACTERS.test(title)) throw badInput('title must not contain control characters');
    const row = await this.rooms.insert({ id: uuidv7(), title, created_at: new Date().toISOString(), last_seq: 0 });
    return roomRowToRoom(row);
  }

  /** The room, or null for an id that names none (including ids that could never exist). */
  async find(id: string): Promise<Room | null> {
    if (!isRoomId(id)) return null;
    const known = this.known.get(id);
    if (known) return known;
    const row = await this.rooms.findById(id);
    if (!row) return null;
    const room = roomRowToRoom(row);
    if (this.known.size >= KNOWN_ROOMS_CACHE) this.known.clear();
    this.known.set(id, room);
    return room;
  }

  /** The room, or NOT_FOUND. */
  async get(id: string): Promise<Room> {
    const room = await this.find(id);
    if (!room) throw notFound(`room "${id.slice(0, 64)}" does not exist`);
    return room;
  }

  async list(args: { first?: number | null; after?: string | null }): Promise<Connection<Room>> {
    const first = pageSize('first', args.first, ROOMS_PAGE_DEFAULT, ROOMS_PAGE_MAX);
    const afterId = args.after == null ? null : decodeCursor(ROOM_CURSOR, args.after, UUID);
    const rows = await this.rooms.listAfter(afterId, first + 1);
    return pageOf(rows.map(roomRowToRoom), first, (room) => encodeCursor(ROOM_CURSOR, room.id), 'forward', afterId !== null);
  }
}
