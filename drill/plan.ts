/** Which drills run and how big, from the command line. */
export const DRILLS = ['kill', 'storm', 'locks', 'soak'] as const;
export type DrillName = (typeof DRILLS)[number];

export interface Plan {
  quick: boolean;
  only: DrillName[];
  /** The whole run is killed (children by PID, exit 2) past this. */
  deadlineMs: number;
  kill: { clients: number; perSecond: number; beforeMs: number; afterMs: number };
  storm: { clients: number; resumeWithinMs: number };
  locks: { perSecond: number; holdMs: number };
  soak: { clients: number; rooms: number; perSecond: number; warmupMs: number; durationMs: number; sampleEveryMs: number };
}

const FULL: Omit<Plan, 'quick' | 'only' | 'deadlineMs'> = {
  kill: { clients: 200, perSecond: 50, beforeMs: 5_000, afterMs: 10_000 },
  storm: { clients: 2_000, resumeWithinMs: 10_000 },
  locks: { perSecond: 50, holdMs: 3_000 },
  soak: { clients: 1_000, rooms: 10, perSecond: 100, warmupMs: 60_000, durationMs: 10 * 60_000, sampleEveryMs: 30_000 },
};

const QUICK: typeof FULL = {
  kill: { clients: 40, perSecond: 20, beforeMs: 2_000, afterMs: 5_000 },
  storm: { clients: 300, resumeWithinMs: 10_000 },
  locks: { perSecond: 20, holdMs: 3_000 },
  soak: { clients: 100, rooms: 4, perSecond: 20, warmupMs: 10_000, durationMs: 30_000, sampleEveryMs: 5_000 },
};

export function parsePlan(argv: string[]): Plan {
  const quick = argv.includes('--quick');
  const onlyArg = argv.find((a) => a.startsWith('--only='));
  const only = onlyArg ? onlyArg.slice('--only='.length).split(',').map((s) => s.trim()).filter(Boolean) : [...DRILLS];
  const unknown = only.filter((name) => !(DRILLS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown drill ${unknown.join(', ')}: choose from ${DRILLS.join(', ')}`);
  const flags = argv.filter((a) => a.startsWith('--') && a !== '--quick' && !a.startsWith('--only='));
  if (flags.length > 0) throw new Error(`unknown flag ${flags.join(' ')} (flags: --quick, --only=${DRILLS.join(',')})`);
  const sizes = quick ? QUICK : FULL;
  const soakMs = only.includes('soak') ? sizes.soak.warmupMs + sizes.soak.durationMs : 0;
  // Every drill but the soak takes about a minute; the soak's own length on top, and room for setup.
  const deadlineMs = (quick ? 4 : 10) * 60_000 + soakMs;
  return { quick, only: only as DrillName[], deadlineMs, ...sizes };
}
