/**
 * Real Chromium for browser tests: Debian's, driven by Playwright, trusting the test certificate by its public key
 * (`--ignore-certificate-errors-spki-list`, which exempts that one key from verification, so every other
 * certificate error still fails), and the test page (tests/browser/feed-page.html) served over HTTPS from its own
 * origin. The page's `window.taskMcp` signs in and follows `/v1/events` the way docs/sse_guidelines.md tells
 * browser apps to; `callPage` and `feedState` drive it.
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`; CI installs it). `npx playwright install` cannot
 * download browsers here; with internet, set CHROMIUM_PATH='' to use Playwright's own Chromium.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** From /work/shared/STACK_NOTES.md: quiet, sandbox-free headless Chromium for a container. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** What the page's `window.taskMcp` offers (tests/browser/feed-page.html). */
export interface PageApi {
  login(token: string): Promise<number | string>;
  logout(): Promise<number | string>;
  openEventSource(): number;
  eventSource(i: number): FeedState;
  closeEventSource(i: number): void;
  openRawStream(): number;
  openNoCorsStream(): number;
  rawStream(i: number): { status?: number; text: string; failure?: string; pings: number };
  closeRawStream(i: number): void;
}

export interface FeedState {
  /** `EventSource.readyState`: 0 connecting, 1 open, 2 closed. */
  readyState: number;
  opened: boolean;
  errors: number;
  events: Array<{ event: string; id: string; data: Record<string, unknown> }>;
}

/** The page's global, as seen from a function run in it (`page.evaluate`). */
type PageWindow = Window & { taskMcp: PageApi };

export const CLOSED = 2;
export const OPEN = 1;

export interface TestPage {
  server: Server;
  origin: string;
}

/** Serves the test page over HTTPS (`cert`) on a free port of 127.0.0.1; its origin. */
export async function servePage(cert: { cert: string; key: string }): Promise<TestPage> {
  const html = await readFile(new URL('../browser/feed-page.html', import.meta.url), 'utf8');
  const server = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    if (req.method === 'GET' && req.url?.startsWith('/?')) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(html);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Stops a page server, its open connections too. */
export async function closePage(page: TestPage | undefined): Promise<void> {
  if (!page) return;
  page.server.closeAllConnections();
  await new Promise((resolve) => page.server.close(resolve));
}

/** base64(SHA-256(SubjectPublicKeyInfo)): the form `--ignore-certificate-errors-spki-list` takes. */
const spkiHash = (pem: string): string =>
  createHash('sha256')
    .update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');

/** Launches Chromium trusting the certificate `certPem` (and no other untrusted one). */
export async function launchChromium(certPem: string): Promise<Browser> {
  if (CHROMIUM && !existsSync(CHROMIUM)) {
    throw new Error(
      `No Chromium at ${CHROMIUM}: install Debian's with \`apt-get install -y chromium\` (CI does), ` +
        `or set CHROMIUM_PATH to a Chromium binary.`,
    );
  }
  return chromium.launch({
    ...(CHROMIUM ? { executablePath: CHROMIUM } : {}),
    args: [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${spkiHash(certPem)}`],
  });
}

/** Calls `window.taskMcp[name](...args)` in the page. */
export const callPage = <K extends keyof PageApi>(
  page: Page,
  name: K,
  ...args: Parameters<PageApi[K]>
): Promise<Awaited<ReturnType<PageApi[K]>>> =>
  page.evaluate(
    ({ name, args }) => ((window as unknown as PageWindow).taskMcp[name] as (...a: unknown[]) => unknown)(...args),
    { name: name as keyof PageApi, args: args as unknown[] },
  ) as Promise<Awaited<ReturnType<PageApi[K]>>>;

/** Waits until the page's EventSource `i` satisfies `done` (an expression over its state `f`); its state. */
export async function feedState(page: Page, i: number, done: string): Promise<FeedState> {
  await page.waitForFunction(`(() => { const f = window.taskMcp.eventSource(${i}); return ${done}; })()`);
  return callPage(page, 'eventSource', i);
}
