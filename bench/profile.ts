import { readFileSync } from 'node:fs';

/** The parts of a V8 .cpuprofile (as node --cpu-prof writes it) that the summary reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface TimeShare {
  label: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  /** Sampled time inside the window, ms. */
  totalMs: number;
  /** Functions by self time. */
  functions: TimeShare[];
  /** Self time grouped by package (node_modules), node internals, or our own files. */
  modules: TimeShare[];
  /** Our own (src/) functions by inclusive time: what the server's code spends, callees included. */
  ownInclusive: TimeShare[];
}

/** Where a frame's code lives: a package, node itself, src/<file>, or V8's pseudo-frames. */
function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node (core JS)';
  const own = /\/((?:src|bench)\/.*)$/.exec(url);
  return own ? own[1]! : url;
}

/**
 * A short place for a frame: package/file, src/path or node:internal/…, with the
 * line. tsx compiles our files onto one line, so theirs carry no line number.
 */
function labelOf(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?:.*\/)?([^/]+)$/.exec(frame.url);
  const own = /\/((?:src|bench)\/.*)$/.exec(frame.url);
  const where = pkg ? `${pkg[1]}/${pkg[2]}` : own ? own[1]! : frame.url;
  return frame.lineNumber > 0 ? `${name} (${where}:${frame.lineNumber + 1})` : `${name} (${where})`;
}

function ranked(totals: Map<string, number>, totalMs: number, top: number): TimeShare[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([label, ms]) => ({ label, ms, share: totalMs > 0 ? ms / totalMs : 0 }));
}

/**
 * Self and inclusive time of a --cpu-prof profile, only for samples inside
 * [fromMicros, toMicros] (the same monotonic clock as process.hrtime), so the
 * summary is about the burst and not start-up or connection set-up.
 */
export function summarizeProfile(file: string, fromMicros = -Infinity, toMicros = Infinity, top = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<string, number>();
  const modules = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let totalMs = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i]!;
    if (at < fromMicros || at > toMicros) continue;
    // A sample stands for the time until the next one.
    const ms = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i]!) / 1000;
    const leaf = byId.get(profile.samples[i]!)!;
    totalMs += ms;
    const label = labelOf(leaf.callFrame);
    self.set(label, (self.get(label) ?? 0) + ms);
    const module = moduleOf(leaf.callFrame.url, leaf.callFrame.functionName);
    modules.set(module, (modules.get(module) ?? 0) + ms);
    const counted = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (!/\/src\//.test(frame.url)) continue;
      const own = labelOf(frame);
      if (counted.has(own)) continue;
      counted.add(own);
      inclusive.set(own, (inclusive.get(own) ?? 0) + ms);
    }
  }
  return {
    totalMs,
    functions: ranked(self, totalMs, top),
    modules: ranked(modules, totalMs, 8),
    ownInclusive: ranked(inclusive, totalMs, 8),
  };
}

export function formatProfile(summary: ProfileSummary, title: string): string {
  const lines = [`${title}: ${summary.totalMs.toFixed(0)} ms sampled`];
  const section = (heading: string, rows: TimeShare[]) => {
    lines.push('', heading);
    for (const row of rows) lines.push(`  ${(row.share * 100).toFixed(1).padStart(5)}%  ${row.ms.toFixed(0).padStart(6)} ms  ${row.label}`);
  };
  section('Top functions by self time:', summary.functions);
  section('Self time by module:', summary.modules);
  section('Our code (src/) by inclusive time:', summary.ownInclusive);
  return lines.join('\n');
}
