/**
 * GET /metrics as a scraper sees it: the Prometheus text, parsed into samples
 * one can look up by name and labels.
 */
export interface Scrape {
  status: number;
  text: string;
  /** The value of `name` with exactly these labels (none: the unlabelled sample); undefined if absent. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** Like value(), with 0 for an absent sample (a counter or labelled series not yet touched). */
  count(name: string, labels?: Record<string, string>): number;
  /** Whether the exposition declares the series (its # TYPE line), touched or not. */
  has(name: string): boolean;
}

export async function scrape(url: string, token?: string): Promise<Scrape> {
  const response = await fetch(new URL('/metrics', url), { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  const text = await response.text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels = [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}=${v}`).sort();
    samples.set(`${match[1]}{${labels.join(',')}}`, Number(match[3]));
  }
  const key = (name: string, labels: Record<string, string> = {}) =>
    `${name}{${Object.entries(labels).map(([k, v]) => `${k}=${v}`).sort().join(',')}}`;
  return {
    status: response.status,
    text,
    value: (name, labels) => samples.get(key(name, labels)),
    count: (name, labels) => samples.get(key(name, labels)) ?? 0,
    has: (name) => new RegExp(`^# TYPE ${name} `, 'm').test(text),
  };
}
