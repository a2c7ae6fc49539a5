import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';

/** Debian's Chromium (apt-get install chromium); never a browser download. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Headless as root in a container, and quiet: without the background-networking flags
// Chromium keeps calling out to Google's hosts, which this machine's network refuses.
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: FLAGS });
}

function newestChange(path: string): number {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  return Math.max(stats.mtimeMs, ...readdirSync(path).map((name) => newestChange(join(path, name))));
}

/**
 * The browser tests run the web chat as `npm install` built it (web/dist);
 * when its sources (or the SDK) changed since, it is built again first.
 */
export function ensureWebBuild(): void {
  let built = 0;
  try {
    built = statSync('web/dist/index.html').mtimeMs;
  } catch {
    // not built
  }
  const sources = Math.max(...['web/src', 'web/public', 'web/index.html', 'web/vite.config.ts', 'sdk'].map(newestChange));
  if (built > sources) return;
  const result = spawnSync('npm', ['run', '--silent', 'build:web'], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`npm run build:web failed (${result.status})`);
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export interface Person {
  context: BrowserContext;
  page: Page;
  /** Every request the page tried to make off this machine (a CDN, a font host…): aborted. */
  blocked: string[];
}

/**
 * A browser profile of its own (its own localStorage, so its own identity)
 * that can reach this machine only: anything else is aborted and recorded,
 * as with no internet.
 */
export async function person(browser: Browser, options: BrowserContextOptions = {}): Promise<Person> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 760 }, ...options });
  const blocked: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (LOOPBACK.has(url.hostname) || url.protocol === 'data:' || url.protocol === 'blob:') return route.continue();
    blocked.push(url.href);
    return route.abort('internetdisconnected');
  });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  return { context, page, blocked };
}
