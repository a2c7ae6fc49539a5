import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { ROOT } from './children.js';

export interface Machine {
  cores: string;
  cpuModel: string;
  memory: string;
  node: string;
  /** Soft limit on open files the children inherit. */
  openFiles: number;
  /** The commit measured, and whether src/ had uncommitted changes on top. */
  revision: string;
}

function run(command: string): string {
  try {
    return execFileSync('sh', ['-c', command], { encoding: 'utf8', cwd: ROOT }).trim();
  } catch {
    return '?';
  }
}

export function describeMachine(): Machine {
  const cpuinfo = (() => {
    try {
      return readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return '';
    }
  })();
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? '?';
  const total = /^Mem:\s+(\S+)/m.exec(run('free -h'))?.[1] ?? '?';
  const commit = run('git rev-parse --short HEAD');
  const dirty = run('git status --porcelain -- src') !== '';
  return {
    cores: run('nproc'),
    cpuModel: model.trim(),
    memory: total,
    node: process.version,
    openFiles: Number(run('ulimit -n')),
    revision: dirty ? `${commit} + uncommitted changes in src/` : commit,
  };
}
