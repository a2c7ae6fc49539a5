import { gqlOk } from './graphql.js';

/** Whole lists read through the API's own paging, as a client scrolling to the end would. */

export interface ListedRoom {
  id: string;
  title: string;
  createdAt: string;
}

export interface HistoryMessage {
  id: string;
  seq: number;
  body: string;
  clientMessageId: string | null;
  sender: { id: string; handle: string };
}

/** Every room, oldest page first, following endCursor while hasNextPage. */
export async function allRooms(url: string): Promise<ListedRoom[]> {
  const rooms: ListedRoom[] = [];
  let after: string | null = null;
  for (;;) {
    const data: { rooms: { edges: { node: ListedRoom }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await gqlOk(
      url,
      'query($after: String) { rooms(first: 100, after: $after) { edges { node { id title createdAt } } pageInfo { hasNextPage endCursor } } }',
      { after },
    );
    rooms.push(...data.rooms.edges.map((e) => e.node));
    if (!data.rooms.pageInfo.hasNextPage) return rooms;
    after = data.rooms.pageInfo.endCursor;
  }
}

/** A room's whole history, oldest first, paging back from the newest with startCursor while hasPreviousPage. */
export async function allMessages(url: string, roomId: string): Promise<HistoryMessage[]> {
  const pages: HistoryMessage[][] = [];
  let before: string | null = null;
  for (;;) {
    const data: { messages: { edges: { node: HistoryMessage }[]; pageInfo: { hasPreviousPage: boolean; startCursor: string | null } } } = await gqlOk(
      url,
      `query($roomId: ID!, $before: String) {
        messages(roomId: $roomId, last: 100, before: $before) {
          edges { node { id seq body clientMessageId sender { id handle } } }
          pageInfo { hasPreviousPage startCursor }
        }
      }`,
      { roomId, before },
    );
    pages.unshift(data.messages.edges.map((e) => e.node));
    if (!data.messages.pageInfo.hasPreviousPage) return pages.flat();
    before = data.messages.pageInfo.startCursor;
  }
}
