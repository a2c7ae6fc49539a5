import { useEffect, useState } from 'preact/hooks';
import { ChatError, type ChatClient, type ChatRoomFragment, type RoomsQuery, type SessionUser } from 'chat-api/sdk';
import { navigate, roomHref } from './hooks.js';
import { roomName } from './format.js';

type ListedRoom = RoomsQuery['rooms']['edges'][number]['node'];

/** Rooms past this many show the count they had when listed, to keep the socket's subscriptions few. */
const LIVE_COUNTS = 40;
const REFRESH_MS = 30_000;

function LiveCount({ chat, roomId, initial, live }: { chat: ChatClient; roomId: string; initial: number; live: boolean }) {
  const [count, setCount] = useState(initial);
  useEffect(() => {
    if (!live) return;
    return chat.participantCount({ roomId }, { next: (c) => setCount(c.count) });
  }, [chat, roomId, live]);
  return <span class="count">{count} online</span>;
}

export function RoomList({ chat, current, refreshKey }: { chat: ChatClient; current: string | null; refreshKey: number }) {
  const [rooms, setRooms] = useState<ListedRoom[] | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let cancelled = false;
    const load = () =>
      chat.rooms({ first: 100 }).then(
        (page) => {
          if (cancelled) return;
          setRooms(page.edges.map((e) => e.node));
          setFailed(false);
        },
        () => !cancelled && setFailed(true),
      );
    void load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [chat, refreshKey]);

  return (
    <nav aria-label="Rooms" class="rooms">
      <h2>Rooms</h2>
      {rooms === null && !failed && <p class="muted">Loading rooms…</p>}
      {failed && rooms === null && <p class="muted">Rooms could not be loaded; retrying.</p>}
      <ul>
        {rooms?.map((room, index) => (
          <li key={room.id} class={room.id === current ? 'current' : undefined}>
            <a href={roomHref(room.id)} aria-current={room.id === current ? 'page' : undefined}>
              {room.title}
            </a>
            <LiveCount chat={chat} roomId={room.id} initial={room.participantCount} live={index < LIVE_COUNTS} />
          </li>
        ))}
      </ul>
    </nav>
  );
}

export function DirectList({ chat, me, current, refreshKey, unread }: { chat: ChatClient; me: SessionUser | null; current: string | null; refreshKey: number; unread: Map<string, number> }) {
  const [rooms, setRooms] = useState<ChatRoomFragment[]>([]);
  useEffect(() => {
    let cancelled = false;
    chat.directRooms({ first: 50 }).then(
      (page) => !cancelled && setRooms(page.edges.map((e) => e.node)),
      () => {},
    );
    return () => void (cancelled = true);
  }, [chat, refreshKey, me?.id]);
  if (rooms.length === 0) return null;
  return (
    <nav aria-label="Direct messages" class="rooms direct">
      <h2>Direct messages</h2>
      <ul>
        {rooms.map((room) => {
          const count = unread.get(room.id) ?? 0;
          return (
            <li key={room.id} class={room.id === current ? 'current' : undefined}>
              <a href={roomHref(room.id)} aria-current={room.id === current ? 'page' : undefined}>
                {roomName(room, me)}
              </a>
              {count > 0 && <span class="badge">{count} new</span>}
            </li>
          );
        })}
      </ul>
    </nav>
  );
}

export function CreateRoom({ chat, onCreated }: { chat: ChatClient; onCreated: () => void }) {
  const [title, setTitle] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (!title.trim() || busy) return;
    setBusy(true);
    try {
      const room = await chat.createRoom(title.trim());
      setTitle('');
      setError(null);
      onCreated();
      navigate(room.id);
    } catch (failure) {
      setError(failure instanceof ChatError && failure.code === 'FORBIDDEN' ? 'You are banned from creating rooms.' : failure instanceof Error ? failure.message : 'The room could not be created.');
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="create-room" onSubmit={submit}>
      <label for="new-room">New room</label>
      <div class="row">
        <input id="new-room" value={title} maxLength={64} placeholder="Title" onInput={(e) => setTitle(e.currentTarget.value)} />
        <button type="submit" disabled={busy || !title.trim()}>
          Create room
        </button>
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </form>
  );
}

/** "Talk to a stranger": waits in the matching queue until someone else does, then opens the direct room. */
export function MatchButton({ chat, onMatched }: { chat: ChatClient; onMatched: () => void }) {
  const [waiting, setWaiting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!waiting) return;
    return chat.matchFound(
      {},
      {
        next: (match) => {
          setWaiting(false);
          onMatched();
          navigate(match.room.id);
        },
        error: (failure) => {
          setWaiting(false);
          setError(failure.code === 'FORBIDDEN' ? 'You are banned from matching right now.' : failure.message);
        },
        complete: () => setWaiting(false),
      },
    );
  }, [chat, waiting]);
  return (
    <div class="match">
      {waiting ? (
        <>
          <p role="status" class="waiting">
            Looking for someone to talk to…
          </p>
          <button type="button" onClick={() => setWaiting(false)}>
            Stop looking
          </button>
        </>
      ) : (
        <button
          type="button"
          class="primary"
          onClick={() => {
            setError(null);
            setWaiting(true);
          }}
        >
          Talk to a stranger
        </button>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </div>
  );
}
