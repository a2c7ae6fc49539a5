import { gqlOk } from './graphql.js';

/** Direct rooms through the public API, as a client makes and lists them. */

export interface DirectRoom {
  id: string;
  title: string;
  kind: 'PUBLIC' | 'DIRECT';
  members: { id: string; handle: string }[];
}

export const DIRECT_ROOM_FIELDS = 'id title kind members { id handle }';
export const OPEN_DIRECT_ROOM = `mutation($userId: ID!) { openDirectRoom(userId: $userId) { ${DIRECT_ROOM_FIELDS} } }`;
export const DIRECT_ROOMS = `query($first: Int, $after: String) {
  directRooms(first: $first, after: $after) {
    edges { cursor node { id title kind members { id handle } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;
export const DIRECT_MESSAGE_ADDED = 'subscription { directMessageAdded { id roomId seq body sender { id handle } } }';

export interface DirectRoomsPage {
  edges: { cursor: string; node: DirectRoom }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

export interface DirectMessageEvent {
  directMessageAdded: { id: string; roomId: string; seq: number; body: string; sender: { id: string; handle: string } };
}

export async function openDirectRoom(url: string, token: string, userId: string): Promise<DirectRoom> {
  return (await gqlOk<{ openDirectRoom: DirectRoom }>(url, OPEN_DIRECT_ROOM, { userId }, token)).openDirectRoom;
}

export async function directRoomsPage(url: string, token: string, first?: number, after?: string | null): Promise<DirectRoomsPage> {
  return (await gqlOk<{ directRooms: DirectRoomsPage }>(url, DIRECT_ROOMS, { first, after }, token)).directRooms;
}

/** Every one of the caller's direct rooms, paging `first` at a time, in the server's order. */
export async function allDirectRooms(url: string, token: string, first = 100): Promise<DirectRoom[]> {
  const rooms: DirectRoom[] = [];
  let after: string | null = null;
  for (;;) {
    const page: DirectRoomsPage = await directRoomsPage(url, token, first, after);
    rooms.push(...page.edges.map((edge) => edge.node));
    if (!page.pageInfo.hasNextPage) return rooms;
    after = page.pageInfo.endCursor;
  }
}
