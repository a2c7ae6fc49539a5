import { useEffect, useRef, useState } from 'preact/hooks';
import { ChatError, randomId, type ChatClient, type ChatMessageFragment, type ConnectionState } from 'chat-api/sdk';
import { useCountdown } from './hooks.js';

/** setTyping(true) again at most this often while typing (the server lets it lapse after 5 s). */
const TYPING_REPEAT_MS = 3_000;
/** No key for this long: stopped typing. */
const TYPING_IDLE_MS = 4_000;

type Problem = { kind: 'rate-limited'; until: number } | { kind: 'banned'; message: string } | { kind: 'failed'; message: string };

/**
 * The message box: Enter sends, Shift+Enter is a new line. It says it is
 * typing while the person types, and shows why a message could not go out
 * (slow mode with a countdown, a ban, no connection) without losing the text.
 */
export function Composer({ chat, roomId, slowModeSeconds, state, onSent }: { chat: ChatClient; roomId: string; slowModeSeconds: number; state: ConnectionState; onSent(message: ChatMessageFragment): void }) {
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<Problem | null>(null);
  const box = useRef<HTMLTextAreaElement>(null);
  const typingSince = useRef(0);
  const idle = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const secondsLeft = useCountdown(problem?.kind === 'rate-limited' ? problem.until : null);
  const rateLimited = problem?.kind === 'rate-limited' && secondsLeft > 0;

  const stopTyping = () => {
    clearTimeout(idle.current);
    if (typingSince.current === 0) return;
    typingSince.current = 0;
    chat.setTyping(roomId, false).catch(() => {});
  };
  useEffect(() => stopTyping, [roomId]);
  useEffect(() => {
    if (problem?.kind === 'rate-limited' && secondsLeft === 0) setProblem(null);
  }, [secondsLeft]);

  const typed = (value: string) => {
    setText(value);
    if (!value.trim()) return stopTyping();
    if (Date.now() - typingSince.current > TYPING_REPEAT_MS) {
      typingSince.current = Date.now();
      chat.setTyping(roomId, true).catch(() => {});
    }
    clearTimeout(idle.current);
    idle.current = setTimeout(stopTyping, TYPING_IDLE_MS);
  };

  // Sends go out one after another, in the order they were written; the box is free again at once.
  const queue = useRef<Promise<void>>(Promise.resolve());
  const send = () => {
    const body = text.trim();
    if (!body || rateLimited) return;
    setText('');
    stopTyping();
    const clientMessageId = randomId();
    queue.current = queue.current.then(async () => {
      try {
        onSent(await chat.sendMessage({ roomId, body, clientMessageId }));
        setProblem(slowModeSeconds > 0 ? { kind: 'rate-limited', until: Date.now() + slowModeSeconds * 1000 } : null);
      } catch (error) {
        // The text goes back into the box unless something new was typed there meanwhile.
        setText((current) => current || body);
        if (error instanceof ChatError && error.code === 'RATE_LIMITED') {
          setProblem({ kind: 'rate-limited', until: Date.now() + (error.retryAfterSeconds ?? Math.max(1, slowModeSeconds)) * 1000 });
        } else if (error instanceof ChatError && error.code === 'FORBIDDEN') {
          setProblem({ kind: 'banned', message: 'You are banned from sending messages for now. You can still read.' });
        } else if (error instanceof ChatError && error.code === 'NETWORK_ERROR') {
          setProblem({ kind: 'failed', message: 'You are offline: the message was not sent. It is back in the box; press Send again when you are online.' });
        } else {
          setProblem({ kind: 'failed', message: error instanceof Error ? error.message : 'The message was not sent.' });
        }
      }
    });
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  };

  return (
    <form
      class="composer"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      {rateLimited && (
        <p role="alert" class="notice warn">
          Slow mode: you can send again in {secondsLeft} s.
        </p>
      )}
      {problem && problem.kind !== 'rate-limited' && (
        <p role="alert" class="notice error">
          {problem.message}
        </p>
      )}
      {state === 'reconnecting' && !problem && <p class="notice muted">Offline: reconnecting. Messages still go out if the server can be reached.</p>}
      <div class="row">
        <label for="message" class="visually-hidden">
          Message
        </label>
        <textarea
          id="message"
          ref={box}
          rows={1}
          maxLength={2000}
          placeholder="Write a message (Enter sends, Shift+Enter: new line)"
          value={text}
          onInput={(event) => typed(event.currentTarget.value)}
          onKeyDown={onKeyDown}
          onBlur={stopTyping}
        />
        <button type="submit" class="primary" disabled={rateLimited || !text.trim()}>
          Send
        </button>
      </div>
    </form>
  );
}
