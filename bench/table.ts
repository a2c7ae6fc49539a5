/** One line of the result table: our figure beside its ceiling, and the target on their ratio. */
export interface Row {
  scenario: string;
  metric: string;
  measured: number | null;
  ceiling: number | null;
  format: (value: number) => string;
  /** measured / ceiling must be at least / at most this; `zero` means measured must be 0. */
  target?: { atLeast: number } | { atMost: number } | 'zero';
}

export type Verdict = 'PASS' | 'MISS' | 'n/a' | '';

export function ratioOf(row: Row): number | null {
  if (row.measured === null || row.ceiling === null || row.ceiling === 0 || !Number.isFinite(row.measured) || !Number.isFinite(row.ceiling)) return null;
  return row.measured / row.ceiling;
}

export function verdictOf(row: Row): Verdict {
  if (!row.target) return '';
  if (row.target === 'zero') return row.measured === null ? 'n/a' : row.measured === 0 ? 'PASS' : 'MISS';
  const ratio = ratioOf(row);
  if (ratio === null) return 'n/a';
  return ('atLeast' in row.target ? ratio >= row.target.atLeast : ratio <= row.target.atMost) ? 'PASS' : 'MISS';
}

/** Two decimals, or three where two would round onto the target and hide which side of it the ratio is. */
function ratioText(row: Row, ratio: number): string {
  const short = ratio.toFixed(2);
  const target = row.target && row.target !== 'zero' ? ('atLeast' in row.target ? row.target.atLeast : row.target.atMost) : null;
  return `${target !== null && Number(short) === target && ratio !== target ? ratio.toFixed(3) : short}x`;
}

function targetText(row: Row): string {
  if (!row.target) return '';
  if (row.target === 'zero') return '= 0';
  return 'atLeast' in row.target ? `≥ ${row.target.atLeast}x` : `≤ ${row.target.atMost}x`;
}

/** Markdown, padded so it also reads as a plain-text table in a terminal. */
export function renderTable(rows: Row[]): string {
  const header = ['Scenario', 'Metric', 'Measured', 'Ceiling', 'Ratio', 'Target', 'Result'];
  const cells = rows.map((row) => {
    const ratio = ratioOf(row);
    return [
      row.scenario,
      row.metric,
      row.measured === null ? 'n/a' : row.format(row.measured),
      row.ceiling === null ? 'n/a' : row.format(row.ceiling),
      ratio === null ? '—' : ratioText(row, ratio),
      targetText(row),
      verdictOf(row),
    ];
  });
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((line) => line[i]!.length)));
  const numeric = new Set([2, 3, 4]);
  const line = (values: string[]) =>
    `| ${values.map((value, i) => (numeric.has(i) ? value.padStart(widths[i]!) : value.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, i) => (numeric.has(i) ? `${'-'.repeat(width + 1)}:` : '-'.repeat(width + 2))).join('|')}|`;
  return [line(header), rule, ...cells.map(line)].join('\n');
}

export const formats = {
  count: (value: number) => Math.round(value).toLocaleString('en-US'),
  perSecond: (value: number) => Math.round(value).toLocaleString('en-US'),
  micros: (value: number) => value.toFixed(2),
  decimal: (value: number) => value.toFixed(1),
  seconds: (value: number) => value.toFixed(1),
  ms: (value: number) => (value < 10 ? value.toFixed(2) : value.toFixed(1)),
  kib: (value: number) => value.toFixed(1),
  percent: (value: number) => `${(value * 100).toFixed(0)}%`,
};
