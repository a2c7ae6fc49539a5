import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * The client's address (as the access log names it; budgets count it through
 * budgetAddress). Without trusted proxies
 * (TRUST_PROXY off) it is the TCP peer's: a client cannot choose it. Behind
 * `trustedProxies` proxies that each append the address they saw to
 * X-Forwarded-For, the client is the entry that many from the end (entries
 * before it are whatever the client sent, so never trusted); a missing or
 * malformed entry falls back to the peer. An IPv4 address mapped into IPv6
 * (`::ffff:10.0.0.1`) is given as IPv4.
 */
export function clientIpOf(request: IncomingMessage, trustedProxies: number): string {
  const peer = request.socket.remoteAddress ?? 'unknown';
  if (trustedProxies > 0) {
    const header = request.headers['x-forwarded-for'];
    const entries = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((entry) => entry.trim()).filter(Boolean);
    const entry = entries[entries.length - trustedProxies];
    if (entry !== undefined && isIP(entry) !== 0) return unmapped(entry);
  }
  return unmapped(peer);
}

function unmapped(address: string): string {
  return /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? address;
}

/**
 * An address as budgets count it: IPv4 as it is, IPv6 per /64, the block one
 * subscriber is usually given (so a host cannot mint a fresh budget from each
 * of its addresses).
 */
export function budgetAddress(address: string): string {
  if (isIP(address) !== 6 || /^::ffff:\d/i.test(address)) return unmapped(address);
  const [head = '', tail = ''] = address.toLowerCase().split('%')[0]!.split('::') as [string, string?];
  const left = head === '' ? [] : head.split(':');
  const right = address.includes('::') && tail !== '' ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
