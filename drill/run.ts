import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Children } from '../bench/children.js';
import type { DrillContext } from './context.js';
import { killDrill } from './kill.js';
import { locksDrill } from './locks.js';
import { parsePlan, type DrillName, type Plan } from './plan.js';
import { soakDrill } from './soak.js';
import { stormDrill } from './storm.js';
import { renderTable, type Row } from './table.js';

/**
 * `npm run drill`: fault drills against real servers on 127.0.0.1, each started
 * and killed here by PID. Exit 0 when every check held, 1 when one failed or a
 * drill could not run, 2 at the hard deadline, 130 on SIGINT/SIGTERM.
 */
const DRILL_FNS: Record<DrillName, (ctx: DrillContext) => Promise<void>> = {
  kill: killDrill,
  storm: stormDrill,
  locks: locksDrill,
  soak: soakDrill,
};

function planOrExit(): Plan {
  try {
    return parsePlan(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
const plan = planOrExit();

const started = Date.now();
const log = (message: string) => console.error(`[drill +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
// Unpinned: the drills check bounds and correctness, not ratios to a ceiling, and on a
// shared two-core machine the scheduler does better with both cores than we would.
const children = new Children(null);
const workDir = mkdtempSync(join(tmpdir(), 'chat-drill-'));
const rows: Row[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
const ctx: DrillContext = { plan, children, workDir, log, rows, atEnd: (cleanup) => void cleanups.push(cleanup) };

let finishing: Promise<never> | null = null;
function finish(code: number, why?: string): Promise<never> {
  return (finishing ??= (async () => {
    if (why) log(why);
    await children.killAll();
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => log(`cleanup: ${(error as Error).message}`));
    rmSync(workDir, { recursive: true, force: true });
    console.log(`\nFault drills, ${new Date(started).toISOString()}${plan.quick ? ' (--quick)' : ''}; servers and load unpinned, ${cpus().length} cores\n`);
    console.log(renderTable(rows));
    const failed = rows.filter((r) => r.pass === false);
    if (code === 0 && failed.length > 0) code = 1;
    const verdict = code === 130 ? 'interrupted' : code === 2 ? 'stopped at the hard deadline' : failed.length === 0 ? 'every check held' : `${failed.length} check(s) failed`;
    console.log(`\n${verdict}; ${((Date.now() - started) / 1000).toFixed(0)} s`);
    process.exit(code);
  })());
}

const deadline = setTimeout(() => {
  rows.push({ drill: '(run)', figure: 'hard deadline', value: `${plan.deadlineMs / 1000} s passed`, pass: false });
  void finish(2, `hard deadline of ${plan.deadlineMs / 1000} s: killing every child`);
}, plan.deadlineMs);
deadline.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void finish(130, `${signal}: killing every child`));

for (const name of plan.only) {
  log(`drill ${name}`);
  try {
    await DRILL_FNS[name](ctx);
  } catch (error) {
    log(`drill ${name} failed: ${(error as Error).stack ?? String(error)}`);
    rows.push({ drill: name, figure: 'ran to the end', value: String((error as Error).message).split('\n')[0]!.slice(0, 120), pass: false });
  }
}
await finish(0);
