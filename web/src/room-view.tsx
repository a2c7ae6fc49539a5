import { useEffect, useState } from 'preact/hooks';
import type { ChatClient, ChatRoomFragment, ConnectionState, SessionUser } from 'chat-api/sdk';
import { Composer } from './composer.js';
import { roomName, typingText } from './format.js';
import { navigate } from './hooks.js';
import { MessageLog } from './message-log.js';
import { useRoomMessages } from './messages.js';

type Person = SessionUser;

/** Who is here now, refreshed whenever the count changes; a button per person opens a direct room. */
function People({ chat, roomId, count, me, onOpened }: { chat: ChatClient; roomId: string; count: number | null; me: SessionUser | null; onOpened: () => void }) {
  const [people, setPeople] = useState<Person[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let cancelled = false;
    const timer = setTimeout(() => {
      chat.participants(roomId, 50).then(
        (room) => !cancelled && setPeople(room?.participants ?? []),
        () => {},
      );
    }, 150);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [chat, roomId, count]);

  const open = async (person: Person) => {
    try {
      const room = await chat.openDirectRoom(person.id);
      onOpened();
      navigate(room.id);
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : 'The direct room could not be opened.');
    }
  };

  return (
    <section class="people" aria-labelledby="people-heading">
      <h3 id="people-heading">Who is here</h3>
      <ul>
        {people.map((person) => (
          <li key={person.id}>
            <span class="handle">
              {person.handle}
              {person.id === me?.id && <span class="you"> (you)</span>}
            </span>
            {person.id !== me?.id && (
              <button type="button" class="link" onClick={() => open(person)} aria-label={`Message ${person.handle}`}>
                Message
              </button>
            )}
          </li>
        ))}
      </ul>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </section>
  );
}

export function RoomView({ chat, roomId, me, state, onDirectOpened }: { chat: ChatClient; roomId: string; me: SessionUser | null; state: ConnectionState; onDirectOpened: () => void }) {
  const [room, setRoom] = useState<ChatRoomFragment | null | undefined>(undefined);
  const [count, setCount] = useState<number | null>(null);
  const [typing, setTyping] = useState<string[]>([]);
  const [showPeople, setShowPeople] = useState(false);
  const messages = useRoomMessages(chat, roomId);

  useEffect(() => {
    let cancelled = false;
    setRoom(undefined);
    chat.room(roomId).then(
      (found) => !cancelled && setRoom(found),
      () => !cancelled && setRoom(null),
    );
    return () => void (cancelled = true);
  }, [chat, roomId]);

  useEffect(() => {
    setCount(null);
    setTyping([]);
    const offCount = chat.participantCount({ roomId }, { next: (c) => setCount(c.count) });
    const offTyping = chat.typing({ roomId }, { next: (update) => setTyping(update.users.map((u) => u.handle)) });
    return () => {
      offCount();
      offTyping();
    };
  }, [chat, roomId]);

  useEffect(() => {
    if (room) document.title = `${roomName(room, me)} · Chat`;
  }, [room, me]);

  if (room === null || messages.status === 'missing') {
    return (
      <section class="room empty-state">
        <h2>Room not found</h2>
        <p>This room does not exist, or it is a direct room between other people.</p>
      </section>
    );
  }

  const name = room ? roomName(room, me) : '…';
  return (
    <section class={showPeople ? 'room show-people' : 'room'} aria-labelledby="room-title">
      <header class="room-header">
        <div>
          <h2 id="room-title">
            {room?.kind === 'DIRECT' && <span class="kind">Direct with </span>}
            {name}
          </h2>
          <p class="room-meta">
            <span class="count">{count ?? room?.participantCount ?? 0} online</span>
            {room && room.slowModeSeconds > 0 && <span class="slow"> · Slow mode: one message every {room.slowModeSeconds} s</span>}
          </p>
        </div>
        <button type="button" class="people-toggle" aria-expanded={showPeople} aria-controls="people" onClick={() => setShowPeople(!showPeople)}>
          People
        </button>
      </header>
      <div class="room-body">
        <div class="conversation">
          {messages.status === 'error' && (
            <p role="alert" class="notice error">
              The messages could not be loaded.{' '}
              <button type="button" class="link" onClick={messages.retry}>
                Try again
              </button>
            </p>
          )}
          <MessageLog chat={chat} room={messages} meId={me?.id ?? null} />
          <p class="typing" aria-live="polite">
            {typingText(typing)}
          </p>
          <Composer chat={chat} roomId={roomId} slowModeSeconds={room?.slowModeSeconds ?? 0} state={state} onSent={messages.add} />
        </div>
        <aside id="people" class="people-panel">
          <People chat={chat} roomId={roomId} count={count} me={me} onOpened={onDirectOpened} />
        </aside>
      </div>
    </section>
  );
}
