/** Debian's chromium driven by playwright-core, with the flags our closed network needs. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

export const ARTIFACTS = join(__dirname, '..', 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  // WebRTC on loopback only: gather the loopback interface, and announce real addresses instead of
  // mDNS names (registering those sends multicast packets).
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}

/** A page whose tab can really be hidden (document.visibilityState 'hidden'), and its browser. */
export interface HideableBrowser {
  browser: Browser;
  page: Page;
  /** Minimize (hidden) or restore (visible) the page's window, and wait until the page says so. */
  setHidden(hidden: boolean): Promise<void>;
  close(): Promise<void>;
}

/**
 * Pages opened by Playwright always report 'visible': Playwright turns focus emulation on for them,
 * and Chromium then treats the page as captured, hence shown. So this starts chromium itself (same
 * flags, a debugging port) and connects with `noDefaults`, which leaves the default context's pages
 * alone; minimizing the window (Browser.setWindowBounds) then hides the tab for real, as a user
 * switching away does: the page gets visibilitychange and document.visibilityState === 'hidden'.
 */
export async function launchHideableBrowser(): Promise<HideableBrowser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'bambucam-chromium-'));
  const proc: ChildProcess = spawn(
    CHROMIUM,
    [...FLAGS, '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const cleanup = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  };
  try {
    let port = '';
    for (let i = 0; i < 200 && !port; i++) {
      await new Promise((r) => setTimeout(r, 50));
      try {
        port = readFileSync(join(profile, 'DevToolsActivePort'), 'utf8').split('\n')[0];
      } catch {
        // not written yet
      }
    }
    if (!port) throw new Error('chromium did not open its debugging port within 10 s');
    const browser = await chromium.connectOverCDP(`http://127.0.0.1:${port}`, {
      noDefaults: true,
      isLocal: true,
    });
    const context = browser.contexts()[0];
    const page = context.pages()[0] ?? (await context.newPage());
    const cdp = await context.newCDPSession(page);
    const { windowId } = (await cdp.send('Browser.getWindowForTarget')) as { windowId: number };
    return {
      browser,
      page,
      async setHidden(hidden) {
        await cdp.send('Browser.setWindowBounds', {
          windowId,
          bounds: { windowState: hidden ? 'minimized' : 'normal' },
        });
        await page.waitForFunction((h) => document.visibilityState === (h ? 'hidden' : 'visible'), hidden, {
          timeout: 10_000,
        });
      },
      async close() {
        await browser.close().catch(() => {});
        await cleanup();
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
