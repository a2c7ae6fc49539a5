import { useEffect, useState } from 'preact/hooks';
import type { ChatClient, ConnectionState, Session } from 'chat-api/sdk';

export function useConnectionState(chat: ChatClient): ConnectionState {
  const [state, setState] = useState(chat.state);
  useEffect(() => {
    setState(chat.state);
    return chat.on('state', setState);
  }, [chat]);
  return state;
}

export function useSession(chat: ChatClient): Session | null {
  const [session, setSession] = useState(chat.session);
  useEffect(() => {
    const off = chat.on('session', setSession);
    chat.ready().then(setSession, () => {});
    return off;
  }, [chat]);
  return session;
}

export type Route = { room: string | null };

function parseRoute(): Route {
  const match = /^#\/room\/([^/?#]+)/.exec(location.hash);
  return { room: match ? decodeURIComponent(match[1]!) : null };
}

export const roomHref = (id: string) => `#/room/${encodeURIComponent(id)}`;

/** The open room lives in the URL's hash, so reloading (or sharing the link) opens it again. */
export function useRoute(): Route {
  const [route, setRoute] = useState(parseRoute);
  useEffect(() => {
    const update = () => setRoute(parseRoute());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

export function navigate(roomId: string): void {
  location.hash = roomHref(roomId);
}

/** Seconds left until `until` (a Date.now() value), ticking while it runs; 0 once past. */
export function useCountdown(until: number | null): number {
  const [, tick] = useState(0);
  useEffect(() => {
    if (until === null || until <= Date.now()) return;
    const timer = setInterval(() => tick((n) => n + 1), 250);
    return () => clearInterval(timer);
  }, [until]);
  return until === null ? 0 : Math.max(0, Math.ceil((until - Date.now()) / 1000));
}
