/** One figure of a drill: what was measured, what it had to be, and whether it was. */
export interface Row {
  drill: string;
  figure: string;
  value: string;
  /** The correctness or bound the figure is checked against; empty for a figure shown as it is. */
  target?: string;
  /** false fails the run (exit 1); undefined: not a check. */
  pass?: boolean;
}

/** Markdown, padded so it also reads as a plain-text table in a terminal. */
export function renderTable(rows: Row[]): string {
  const header = ['drill', 'figure', 'value', 'target', ''];
  const cells = rows.map((r) => [r.drill, r.figure, r.value, r.target ?? '', r.pass === undefined ? '' : r.pass ? 'PASS' : 'FAIL']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...cells.map(line)].join('\n');
}

export const ms = (value: number) => (Number.isFinite(value) ? `${Math.round(value).toLocaleString('en-US')} ms` : 'n/a');
export const count = (value: number) => value.toLocaleString('en-US');
export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
