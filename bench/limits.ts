import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * What caps the number of sockets here: open files per process, and local
 * ports per client→server address pair. The bench reads them up front, runs
 * only the sizes that fit, and says which did not and what to raise.
 */
export interface SocketLimits {
  /** `ulimit -Sn` and `ulimit -Hn` of the orchestrator; children are raised to the hard limit (children.ts). */
  softOpenFiles: number;
  hardOpenFiles: number;
  /** What a child process may hold: the hard limit, since each child raises its soft limit to it. */
  perProcess: number;
  /** net.ipv4.ip_local_port_range: connections from one client address to one server address:port. */
  ephemeralPorts: number | null;
  portRange: string | null;
  /** fs.nr_open: the most any process's hard limit may be raised to (root). */
  nrOpen: number | null;
}

/**
 * Files a server child holds besides its sockets: node itself (~20), the
 * database, the listening socket, the IPC channel, the publisher's keep-alive
 * connections, and the Redis/PostgreSQL clients in the multi-instance runs.
 */
export const SERVER_RESERVE_FILES = 300;
/** A load child: node, IPC, the publisher's 8 keep-alive connections, the typists' HTTP clients. */
export const LOAD_RESERVE_FILES = 300;

function shell(command: string): string | null {
  try {
    return execFileSync('sh', ['-c', command], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

function readNumber(path: string): number | null {
  try {
    const value = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

const limitOf = (text: string | null): number => (text === null ? 1024 : text === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(text));

export function readSocketLimits(): SocketLimits {
  const softOpenFiles = limitOf(shell('ulimit -Sn'));
  const hardOpenFiles = limitOf(shell('ulimit -Hn'));
  let portRange: string | null = null;
  let ephemeralPorts: number | null = null;
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    portRange = `${low}–${high}`;
    ephemeralPorts = high! - low! + 1;
  } catch {
    // Not Linux: unknown.
  }
  return { softOpenFiles, hardOpenFiles, perProcess: Math.max(softOpenFiles, hardOpenFiles), ephemeralPorts, portRange, nrOpen: readNumber('/proc/sys/fs/nr_open') };
}

const n = (value: number) => value.toLocaleString('en-US');

/** How to get more sockets per process on a bigger machine; printed beside a size that did not fit. */
export const RAISE_HINT =
  'on a bigger machine raise the hard limit on open files (`ulimit -Hn` as root, `nofile` in /etc/security/limits.conf, `LimitNOFILE=` in a systemd unit, `docker run --ulimit nofile=N:N`; at most fs.nr_open, and fs.file-max machine-wide)';

/**
 * Why `sockets` subscribers cannot be held by one server process (the whole
 * room on one instance) or by `loadProcesses` load processes, or null when they fit.
 */
export function socketProblem(limits: SocketLimits, sockets: number, perServer: number, loadProcesses = 1): string | null {
  const serverNeeds = perServer + SERVER_RESERVE_FILES;
  if (serverNeeds > limits.perProcess) {
    return `N=${n(sockets)} not run: a server process would hold ${n(perServer)} sockets + ~${n(SERVER_RESERVE_FILES)} other files, and a process may open ${n(limits.perProcess)} files here (hard limit; soft ${n(limits.softOpenFiles)}); the most one server can hold here is N=${n(limits.perProcess - SERVER_RESERVE_FILES)}; ${RAISE_HINT}`;
  }
  const perLoad = Math.ceil(sockets / loadProcesses) + LOAD_RESERVE_FILES;
  if (perLoad > limits.perProcess) {
    return `N=${n(sockets)} not run: each of ${loadProcesses} load process(es) would hold ${n(perLoad)} files, the limit is ${n(limits.perProcess)}; ${RAISE_HINT}`;
  }
  if (limits.ephemeralPorts !== null && perServer > limits.ephemeralPorts) {
    return `N=${n(sockets)} not run: ${n(perServer)} connections from 127.0.0.1 to one server port need as many local ports, and net.ipv4.ip_local_port_range (${limits.portRange}) has ${n(limits.ephemeralPorts)}; widen it (sysctl) or spread clients over several source addresses`;
  }
  return null;
}

/** One header line: the limits that decide how far the bench can go here. */
export function describeLimits(limits: SocketLimits): string {
  const raised = limits.softOpenFiles < limits.hardOpenFiles ? ` (children raised from soft ${n(limits.softOpenFiles)} to the hard limit)` : '';
  return (
    `open files per process: ${n(limits.perProcess)}${raised}, so one server holds at most N=${n(limits.perProcess - SERVER_RESERVE_FILES)} subscribers` +
    `; fs.nr_open ${limits.nrOpen === null ? '?' : n(limits.nrOpen)}; local ports ${limits.portRange ?? '?'} (${limits.ephemeralPorts === null ? '?' : n(limits.ephemeralPorts)} per client→server address pair)`
  );
}
