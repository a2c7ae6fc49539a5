import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { ChatClient, ChatMessageFragment } from 'chat-api/sdk';

const PAGE = 50;

export interface RoomMessages {
  messages: ChatMessageFragment[];
  /** loading: the first page is on its way; missing: no such room (or not the viewer's). */
  status: 'loading' | 'ready' | 'missing' | 'error';
  hasOlder: boolean;
  loadingOlder: boolean;
  loadOlder(): void;
  /** A message this client sent, shown at once (the live copy, when it comes, is the same id). */
  add(message: ChatMessageFragment): void;
  /** Tries the first page again after an error. */
  retry(): void;
}

/** Messages in seq order without duplicates, whichever way (history, live, own send) each came. */
function merge(current: ChatMessageFragment[], incoming: ChatMessageFragment[]): ChatMessageFragment[] {
  const byId = new Map(current.map((m) => [m.id, m]));
  let changed = false;
  for (const message of incoming) {
    if (byId.has(message.id)) continue;
    byId.set(message.id, message);
    changed = true;
  }
  return changed ? [...byId.values()].sort((a, b) => a.seq - b.seq) : current;
}

/**
 * A room's live messages and history: the newest page, live ones as they come
 * (the SDK resumes them after the newest it has delivered, so a reconnect
 * leaves no gap), and older pages on demand.
 */
export function useRoomMessages(chat: ChatClient, roomId: string): RoomMessages {
  const [messages, setMessages] = useState<ChatMessageFragment[]>([]);
  const [status, setStatus] = useState<RoomMessages['status']>('loading');
  const [older, setOlder] = useState<{ has: boolean; cursor: string | null }>({ has: false, cursor: null });
  const [loadingOlder, setLoadingOlder] = useState(false);
  const loading = useRef(false);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let cancelled = false;
    setMessages([]);
    setStatus('loading');
    // Live first, then the history: whatever is sent in between is in one or the other (or both,
    // merged by id), so nothing falls between them. The SDK resumes the live part by itself.
    const unsubscribe = chat.messageAdded(
      { roomId },
      {
        next: (message) => setMessages((current) => merge(current, [message])),
        // Ended by the server: no (longer) access to this room.
        error: (error) => error.code === 'FORBIDDEN' && setStatus('missing'),
      },
    );
    chat.messages({ roomId, last: PAGE }).then(
      (page) => {
        if (cancelled) return;
        setMessages((current) => merge(current, page.edges.map((e) => e.node)));
        setOlder({ has: page.pageInfo.hasPreviousPage, cursor: page.pageInfo.startCursor ?? null });
        setStatus('ready');
      },
      (error: { code?: string }) => !cancelled && setStatus(error.code === 'FORBIDDEN' || error.code === 'NOT_FOUND' || error.code === 'BAD_USER_INPUT' ? 'missing' : 'error'),
    );
    return () => {
      cancelled = true;
      unsubscribe();
    };
  }, [chat, roomId, attempt]);

  const loadOlder = useCallback(() => {
    if (loading.current || !older.has || !older.cursor) return;
    loading.current = true;
    setLoadingOlder(true);
    chat
      .messages({ roomId, last: PAGE, before: older.cursor })
      .then(
        (page) => {
          setMessages((current) => merge(current, page.edges.map((e) => e.node)));
          setOlder({ has: page.pageInfo.hasPreviousPage, cursor: page.pageInfo.startCursor ?? null });
        },
        () => {},
      )
      .finally(() => {
        loading.current = false;
        setLoadingOlder(false);
      });
  }, [chat, roomId, older]);

  const add = useCallback((message: ChatMessageFragment) => setMessages((current) => merge(current, [message])), []);

  const retry = useCallback(() => setAttempt((n) => n + 1), []);

  return { messages, status, hasOlder: older.has, loadingOlder, loadOlder, add, retry };
}
