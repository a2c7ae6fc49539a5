import type { ChatRoomFragment, SessionUser } from 'chat-api/sdk';

const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const day = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

export function formatTime(iso: string): string {
  return time.format(new Date(iso));
}

export function formatDay(iso: string): string {
  return day.format(new Date(iso));
}

/** What a room is called here: its title, or for a direct room the other person's handle. */
export function roomName(room: Pick<ChatRoomFragment, 'title' | 'kind' | 'members'>, me: SessionUser | null | undefined): string {
  if (room.kind !== 'DIRECT') return room.title;
  const partner = room.members.find((m) => m.id !== me?.id) ?? room.members[0];
  return partner ? partner.handle : room.title;
}

export function typingText(handles: string[]): string {
  if (handles.length === 0) return '';
  if (handles.length === 1) return `${handles[0]} is typing…`;
  if (handles.length === 2) return `${handles[0]} and ${handles[1]} are typing…`;
  return `${handles.length} people are typing…`;
}
