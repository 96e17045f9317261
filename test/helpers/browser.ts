import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { API_TOKEN, type TestServer } from './server.js';

/** Debian's Chromium (apt install chromium); Playwright's own browser download cannot run here. */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM);

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // a closed network: without these Chromium keeps trying to reach Google's hosts
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

export interface DashboardPage {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions seen so far. */
  errors: string[];
  close: () => Promise<void>;
}

/** A new browser context (its own cookies) on the dashboard, signed in unless told otherwise. */
export async function openDashboard(browser: Browser, srv: TestServer, options: { signIn?: boolean; width?: number; height?: number; bypassCSP?: boolean } = {}): Promise<DashboardPage> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1440, height: options.height ?? 900 }, timezoneId: 'UTC', locale: 'en-GB', bypassCSP: options.bypassCSP ?? false });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.on('dialog', (dialog) => {
    errors.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  await page.goto(`${srv.url}/`);
  if (options.signIn !== false) {
    await page.getByLabel('API token').fill(API_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Pages' }).waitFor();
  }
  return { context, page, errors, close: () => context.close() };
}

/** Waits until no part of the page still says "Loading…": every list and figure it asked for has arrived. */
export async function waitForData(page: Page, timeout = 30_000): Promise<void> {
  await page.waitForFunction(() => !document.querySelector('main')?.textContent?.includes('Loading…'), undefined, { timeout });
}
