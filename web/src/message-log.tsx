import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { ChatClient, ChatMessageFragment } from 'chat-api/sdk';
import { formatDay, formatTime } from './format.js';
import type { RoomMessages } from './messages.js';

/** Closer to the top than this starts loading the previous page. */
const LOAD_MARGIN_PX = 400;
/** Closer to the bottom than this counts as reading the newest messages (new ones scroll into view). */
const STICK_MARGIN_PX = 48;

function ReportButton({ chat, message }: { chat: ChatClient; message: ChatMessageFragment }) {
  const [state, setState] = useState<'idle' | 'sent' | 'failed'>('idle');
  if (state === 'sent') return <span class="reported">Reported</span>;
  return (
    <button
      type="button"
      class="link report"
      aria-label={`Report message from ${message.sender.handle}`}
      onClick={() => chat.reportMessage(message.id).then(() => setState('sent'), () => setState('failed'))}
    >
      {state === 'failed' ? 'Report failed, retry' : 'Report'}
    </button>
  );
}

/**
 * The room's messages, oldest at the top. Scrolling up loads older pages and
 * keeps what was on screen where it was; new messages scroll into view only
 * for someone already reading the newest.
 */
export function MessageLog({ chat, room, meId }: { chat: ChatClient; room: RoomMessages; meId: string | null }) {
  const log = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const shown = useRef<{ first: string | null; last: string | null; height: number; top: number; ready: boolean }>({ first: null, last: null, height: 0, top: 0, ready: false });
  const { messages } = room;

  useLayoutEffect(() => {
    const element = log.current;
    if (!element) return;
    const before = shown.current;
    const first = messages[0]?.id ?? null;
    const last = messages.at(-1)?.id ?? null;
    const ready = room.status === 'ready';
    if (!before.ready) {
      // Until the first page is in, the newest messages are what to show.
      element.scrollTop = element.scrollHeight;
    } else if (first !== before.first && last === before.last) {
      // Older messages went in above: keep the same ones in view.
      element.scrollTop = before.top + (element.scrollHeight - before.height);
    } else if (stick.current) {
      element.scrollTop = element.scrollHeight;
    }
    shown.current = { first, last, height: element.scrollHeight, top: element.scrollTop, ready };
    // A page that does not fill the log yet: load the one before it.
    if (room.hasOlder && element.scrollHeight <= element.clientHeight + LOAD_MARGIN_PX) room.loadOlder();
  }, [messages, room.hasOlder, room.status]);

  const onScroll = () => {
    const element = log.current;
    if (!element) return;
    stick.current = element.scrollHeight - element.scrollTop - element.clientHeight < STICK_MARGIN_PX;
    shown.current = { ...shown.current, height: element.scrollHeight, top: element.scrollTop };
    if (element.scrollTop < LOAD_MARGIN_PX && room.hasOlder) room.loadOlder();
  };

  let previousDay = '';
  return (
    <div class="log" role="log" aria-label="Messages" tabIndex={0} ref={log} onScroll={onScroll}>
      {room.loadingOlder && <p class="loading-older">Loading older messages…</p>}
      {!room.hasOlder && room.status === 'ready' && <p class="muted center start">{messages.length === 0 ? 'No messages yet. Say hello!' : 'This is the start of the room.'}</p>}
      <ol>
        {messages.map((message) => {
          const own = message.sender.id === meId;
          const day = formatDay(message.createdAt);
          const separator = day !== previousDay;
          previousDay = day;
          return [
            separator && (
              <li key={`day-${day}`} class="day" aria-hidden="true">
                {day}
              </li>
            ),
            <li key={message.id} class={own ? 'message own' : 'message'} data-seq={message.seq}>
              <div class="meta">
                <span class="sender">
                  {message.sender.handle}
                  {own && <span class="you"> (you)</span>}
                </span>
                <time dateTime={message.createdAt}>{formatTime(message.createdAt)}</time>
                {!own && <ReportButton chat={chat} message={message} />}
              </div>
              <p class="body">{message.body}</p>
            </li>,
          ];
        })}
      </ol>
    </div>
  );
}
