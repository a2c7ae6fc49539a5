import { badInput, forbidden, notFound, unauthenticated } from '../errors.js';
import type { User } from '../identity/user.js';
import { uuidv7 } from '../infrastructure/ids.js';
import { decodeCursor, encodeCursor, pageOf, pageSize, type Connection } from '../paging.js';
import type { ActivityKey, RoomRepository } from './room.repository.js';
import type { NewRoomRow } from './room.table.js';
import { isMember, isRoomId, roomRowToRoom, type Room } from './room.js';

export const TITLE_MAX = 64;
const ROOMS_PAGE_DEFAULT = 20;
const ROOMS_PAGE_MAX = 100;
const KNOWN_ROOMS_CACHE = 10_000;
const ROOM_CURSOR = 'room';
const DIRECT_ROOM_CURSOR = 'droom';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A directRooms cursor's key: the room's last activity (ISO, UTC) and its id. */
const ACTIVITY_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

export class RoomService {
  /**
   * Rooms are never deleted and what a Room holds (title, kind, members) never
   * changes, so one seen is known for good; saves a read per send and history
   * page. Oldest entries make way first.
   */
  private readonly known = new Map<string, Room>();
  /** openDirectRoom pair key → room id: a pair's room never changes either. */
  private readonly pairRooms = new Map<string, string>();

  constructor(private readonly rooms: RoomRepository) {}

  async create(input: { title: string }): Promise<Room> {
    const title = input.title.trim();
    const length = [...title].length;
    if (length < 1 || length > TITLE_MAX) throw badInput(`title must be 1 to ${TITLE_MAX} characters after trimming`);
    if (CONTROL_CHARACTERS.test(title)) throw badInput('title must not contain control characters');
    const now = new Date().toISOString();
    const row = await this.rooms.insert({ id: uuidv7(), title, created_at: now, last_seq: 0, kind: 'PUBLIC', direct_key: null, last_activity_at: now });
    return this.remember(roomRowToRoom(row));
  }

  /**
   * The contract's openDirectRoom: the DIRECT room of the caller and `userId`,
   * the same room whoever asks first and however many ask at once (the pair
   * key's unique index decides, not a check before the insert).
   */
  async openDirectRoom(caller: User, userId: string): Promise<Room> {
    if (userId === caller.id) throw badInput('userId is the caller: a direct room is with someone else');
    const key = pairKey(caller.id, userId);
    const knownId = this.pairRooms.get(key);
    if (knownId) return this.get(knownId);
    const members = await this.requireUsers(caller, userId);
    const row = (await this.rooms.insertDirect(directRoomRow(members, key), [caller.id, userId])) ?? (await this.rooms.findByDirectKey(key));
    // Rooms are never deleted: a conflict means the row is there, committed by the call that won.
    if (!row) throw new Error(`direct room ${key} conflicted but cannot be read`);
    const room = this.remember(roomRowToRoom(row, sortedMembers(members)));
    if (this.pairRooms.size >= KNOWN_ROOMS_CACHE) this.pairRooms.delete(this.pairRooms.keys().next().value!);
    this.pairRooms.set(key, room.id);
    return room;
  }

  /**
   * A fresh DIRECT room for the two users, separate from their openDirectRoom
   * room and from any earlier one: random matching makes one per match.
   */
  async createDirectRoom(aUserId: string, bUserId: string): Promise<Room> {
    if (aUserId === bUserId) throw badInput('a direct room needs two different users');
    const members = await this.requireUsers(null, aUserId, bUserId);
    const row = await this.rooms.insertDirect(directRoomRow(members, null), [aUserId, bUserId]);
    if (!row) throw new Error('inserting a direct room without a pair key cannot conflict');
    return this.remember(roomRowToRoom(row, sortedMembers(members)));
  }

  /** The room, or null for an id that names none (including ids that could never exist). */
  async find(id: string): Promise<Room | null> {
    if (!isRoomId(id)) return null;
    const known = this.known.get(id);
    if (known) return known;
    const row = await this.rooms.findById(id);
    if (!row) return null;
    const members = row.kind === 'DIRECT' ? ((await this.rooms.membersOf([id])).get(id) ?? []) : [];
    return this.remember(roomRowToRoom(row, members));
  }

  /** Query.room: the room if `user` may see it; null, as for no room at all, when they may not. */
  async findVisible(user: User | null, id: string): Promise<Room | null> {
    const room = await this.find(id);
    return room && mayAccess(user, room) ? room : null;
  }

  /**
   * The room if `user` (null: no token) may read it and write to it, the one
   * access rule every field that takes a roomId applies. NOT_FOUND when there is
   * no such room; a DIRECT room is for its two members only: UNAUTHENTICATED
   * without a token, FORBIDDEN for anyone else.
   */
  async requireAccess(user: User | null, id: string): Promise<Room> {
    const room = await this.get(id);
    this.checkAccess(user, room);
    return room;
  }

  /** requireAccess for a Room already in hand (the fields of a Room). */
  checkAccess(user: User | null, room: Room): void {
    if (room.kind === 'PUBLIC') return;
    if (!user) throw unauthenticated('authentication required: a direct room is open to its two members only');
    if (!isMember(room, user.id)) throw forbidden('a direct room is open to its two members only');
  }

  /** The room, or NOT_FOUND. */
  async get(id: string): Promise<Room> {
    const room = await this.find(id);
    if (!room) throw notFound(`room "${id.slice(0, 64)}" does not exist`);
    return room;
  }

  /** Query.rooms: PUBLIC rooms only, in creation order. */
  async list(args: { first?: number | null; after?: string | null }): Promise<Connection<Room>> {
    const first = pageSize('first', args.first, ROOMS_PAGE_DEFAULT, ROOMS_PAGE_MAX);
    const afterId = args.after == null ? null : decodeCursor(ROOM_CURSOR, args.after, UUID);
    const rows = await this.rooms.listPublicAfter(afterId, first + 1);
    return pageOf(rows.map((row) => roomRowToRoom(row)), first, (room) => encodeCursor(ROOM_CURSOR, room.id), 'forward', afterId !== null);
  }

  /**
   * Query.directRooms: the user's DIRECT rooms, the most recently active first,
   * keyset-paged on (last activity, id). A room that becomes active while a
   * client pages moves to the front: later pages do not show it again.
   */
  async listDirect(user: User, args: { first?: number | null; after?: string | null }): Promise<Connection<Room>> {
    const first = pageSize('first', args.first, ROOMS_PAGE_DEFAULT, ROOMS_PAGE_MAX);
    const after = args.after == null ? null : activityKey(decodeCursor(DIRECT_ROOM_CURSOR, args.after, ACTIVITY_KEY));
    const rows = await this.rooms.listByActivity(user.id, after, first + 1);
    const unknown = rows.filter((row) => !this.known.has(row.id)).map((row) => row.id);
    const members = await this.rooms.membersOf(unknown);
    const entries = rows.map((row) => ({ row, room: this.known.get(row.id) ?? this.remember(roomRowToRoom(row, members.get(row.id) ?? [])) }));
    const page = pageOf(entries, first, ({ row }) => encodeCursor(DIRECT_ROOM_CURSOR, `${row.last_activity_at}/${row.id}`), 'forward', after !== null);
    return { edges: page.edges.map(({ cursor, node }) => ({ cursor, node: node.room })), pageInfo: page.pageInfo };
  }

  /** The members as Users, or NOT_FOUND naming the first that does not exist (`known` is known to). */
  private async requireUsers(known: User | null, ...ids: string[]): Promise<User[]> {
    const wanted = ids.filter((id) => id !== known?.id);
    // A malformed id names no user and must not reach the database (PostgreSQL fails on a NUL byte).
    const found = wanted.every((id) => UUID.test(id)) ? await this.rooms.findUsers(wanted) : [];
    for (const id of wanted) if (!found.some((user) => user.id === id)) throw notFound(`user "${id.slice(0, 64)}" does not exist`);
    return known ? [known, ...found] : ids.map((id) => found.find((user) => user.id === id)!);
  }

  private remember(room: Room): Room {
    if (!this.known.has(room.id) && this.known.size >= KNOWN_ROOMS_CACHE) this.known.delete(this.known.keys().next().value!);
    this.known.set(room.id, room);
    return room;
  }
}

function mayAccess(user: User | null, room: Room): boolean {
  return room.kind === 'PUBLIC' || (user !== null && isMember(room, user.id));
}

/** One key per pair of users, whichever of the two asks. */
function pairKey(a: string, b: string): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`;
}

function sortedMembers(members: User[]): User[] {
  return [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A direct room's title names its members, for clients that only show titles; handles never change. */
function directRoomRow(members: User[], key: string | null): NewRoomRow {
  const now = new Date().toISOString();
  const title = sortedMembers(members)
    .map((member) => member.handle)
    .join(' & ');
  return { id: uuidv7(), title, created_at: now, last_seq: 0, kind: 'DIRECT', direct_key: key, last_activity_at: now };
}

function activityKey(key: string): ActivityKey {
  const slash = key.indexOf('/');
  return { at: key.slice(0, slash), id: key.slice(slash + 1) };
}
