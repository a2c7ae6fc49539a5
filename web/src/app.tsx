import { useEffect, useState } from 'preact/hooks';
import type { ChatClient, ChatNoticeFragment, ConnectionState, Session } from 'chat-api/sdk';
import { roomHref, useConnectionState, useRoute, useSession } from './hooks.js';
import { RoomView } from './room-view.js';
import { CreateRoom, DirectList, MatchButton, RoomList } from './sidebar.js';

const STATE_TEXT: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  online: 'Online',
  reconnecting: 'Offline: reconnecting…',
};

function ConnectionStatus({ state }: { state: ConnectionState }) {
  return (
    <p class={`connection ${state}`} role="status">
      <span class="dot" aria-hidden="true" />
      {STATE_TEXT[state]}
    </p>
  );
}

function Identity({ chat, session }: { chat: ChatClient; session: Session | null }) {
  const [editing, setEditing] = useState(false);
  const [nickname, setNickname] = useState('');
  const [error, setError] = useState<string | null>(null);
  if (!session) return <p class="identity muted">Getting you a name…</p>;
  if (!editing) {
    return (
      <div class="identity">
        <span>
          You are <strong class="own-handle">{session.user.handle}</strong>
        </span>
        <button type="button" class="link" onClick={() => (setNickname(session.user.nickname), setEditing(true))}>
          Change nickname
        </button>
      </div>
    );
  }
  const save = async (event: Event) => {
    event.preventDefault();
    try {
      await chat.changeNickname(nickname.trim());
      setEditing(false);
      setError(null);
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : 'That nickname cannot be used.');
    }
  };
  return (
    <form class="identity" onSubmit={save}>
      <label for="nickname">Nickname</label>
      <input id="nickname" value={nickname} maxLength={24} onInput={(e) => setNickname(e.currentTarget.value)} aria-describedby="nickname-help" />
      <button type="submit">Save</button>
      <button type="button" class="link" onClick={() => setEditing(false)}>
        Cancel
      </button>
      <small id="nickname-help">A new nickname comes with a new handle.</small>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </form>
  );
}

function Notices({ chat }: { chat: ChatClient }) {
  const [notices, setNotices] = useState<ChatNoticeFragment[]>([]);
  useEffect(() => chat.notices({ next: (notice) => setNotices((all) => [...all, notice].slice(-5)) }), [chat]);
  if (notices.length === 0) return null;
  return (
    <section class="notices" aria-label="Notices">
      {notices.map((notice) => (
        <p key={notice.id} role="alert" class="notice info">
          <strong>Notice from the operators:</strong> {notice.body}
          <button type="button" class="link" aria-label="Dismiss notice" onClick={() => setNotices((all) => all.filter((n) => n.id !== notice.id))}>
            Dismiss
          </button>
        </p>
      ))}
    </section>
  );
}

/** Unread counts of direct rooms other than the open one, from directMessageAdded. */
function useDirectUnread(chat: ChatClient, current: string | null, onNewRoom: () => void): Map<string, number> {
  const [unread, setUnread] = useState(new Map<string, number>());
  useEffect(
    () =>
      chat.directMessageAdded({
        next: (message) => {
          if (message.roomId === current) return;
          setUnread((counts) => {
            if (!counts.has(message.roomId)) onNewRoom();
            return new Map(counts).set(message.roomId, (counts.get(message.roomId) ?? 0) + 1);
          });
        },
      }),
    [chat, current],
  );
  useEffect(() => {
    if (current && unread.has(current)) {
      const counts = new Map(unread);
      counts.delete(current);
      setUnread(counts);
    }
  }, [current]);
  return unread;
}

export function App({ chat }: { chat: ChatClient }) {
  const session = useSession(chat);
  const state = useConnectionState(chat);
  const route = useRoute();
  const [menuOpen, setMenuOpen] = useState(false);
  const [roomsVersion, setRoomsVersion] = useState(0);
  const [directVersion, setDirectVersion] = useState(0);
  const unread = useDirectUnread(chat, route.room, () => setDirectVersion((n) => n + 1));

  // No room in the URL: the lobby.
  useEffect(() => {
    if (route.room) return;
    chat.rooms({ first: 100 }).then(
      (page) => {
        const lobby = page.edges.find((e) => e.node.title === 'lobby') ?? page.edges[0];
        if (lobby) location.replace(roomHref(lobby.node.id));
      },
      () => {},
    );
  }, [chat, route.room]);
  useEffect(() => setMenuOpen(false), [route.room]);

  return (
    <div class={menuOpen ? 'app menu-open' : 'app'}>
      <header class="top">
        <button type="button" class="menu-toggle" aria-expanded={menuOpen} aria-controls="sidebar" onClick={() => setMenuOpen(!menuOpen)}>
          <span aria-hidden="true">☰</span> Menu
        </button>
        <h1>Chat</h1>
        <ConnectionStatus state={state} />
        <Identity chat={chat} session={session} />
      </header>
      <Notices chat={chat} />
      <div class="layout">
        <aside id="sidebar" class="sidebar">
          <MatchButton chat={chat} onMatched={() => setDirectVersion((n) => n + 1)} />
          <RoomList chat={chat} current={route.room} refreshKey={roomsVersion} />
          <DirectList chat={chat} me={session?.user ?? null} current={route.room} refreshKey={directVersion} unread={unread} />
          <CreateRoom chat={chat} onCreated={() => setRoomsVersion((n) => n + 1)} />
          <p class="muted small">
            <a href="/graphql">GraphiQL</a> · the API this chat runs on
          </p>
        </aside>
        <main>
          {route.room ? (
            <RoomView key={route.room} chat={chat} roomId={route.room} me={session?.user ?? null} state={state} onDirectOpened={() => setDirectVersion((n) => n + 1)} />
          ) : (
            <p class="muted center">Opening the lobby…</p>
          )}
        </main>
      </div>
    </div>
  );
}

