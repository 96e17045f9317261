import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Call } from '../../src/calls/call-schema.js';
import type { MissedItem } from '../../src/calls/missed.js';
import { generateDeliveries } from '../../src/simulator/index.js';
import { HAS_CHROMIUM, launchBrowser, openDashboard, waitForData, type DashboardPage } from '../helpers/browser.js';
import { DIALECTS } from '../helpers/dialects.js';
import { postJson, startTestServer, type TestServer } from '../helpers/server.js';
import { sendAll } from '../helpers/simulate.js';

// CI installs Chromium; elsewhere these tests say why they did not run
const skip = HAS_CHROMIUM || process.env['CI'] ? false : 'Chromium is not installed (apt-get install chromium)';
const PAGES = ['live', 'calls', 'missed', 'stats', 'ingest', 'destinations', 'alerts'] as const;
// one day of simulated traffic at a fixed date, so that the figures do not depend on when tests run
const DAY = '2026-01-05';
const SIM = generateDeliveries({ calls: 80, seed: 11, rate: 0.004, returning: 0.2 });

const waitingEvent = (from: string, extra: Record<string, unknown> = {}) => {
  const id = randomUUID();
  return { type: 'event', direction: 'inbound', conversation_uuid: id, cmiuuid: id, from, app_id: 2222223, time: Date.now(), to: 440000000000, status: 'waiting', ...extra };
};

async function apiJson<T>(srv: TestServer, path: string): Promise<T> {
  const res = await srv.api(path);
  assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
  return (await res.json()) as T;
}

async function visit(d: DashboardPage, srv: TestServer, hash: string): Promise<Page> {
  await d.page.goto(`${srv.url}/#/${hash}`);
  await d.page.locator('main h1').first().waitFor();
  // every list and figure has arrived
  await waitForData(d.page);
  return d.page;
}

for (const dialect of DIALECTS) {
  describe(`dashboard in Chromium (${dialect})`, { skip }, () => {
    let srv: TestServer;
    let browser: Browser;
    before(async () => {
      srv = await startTestServer(dialect);
      await sendAll(srv, SIM.deliveries);
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
      await srv?.close();
    });

    it('signs in with the API token, refuses a wrong one, and signs out', async () => {
      const d = await openDashboard(browser, srv, { signIn: false });
      try {
        await d.page.getByLabel('API token').fill('wrong-token-wrong-token');
        await d.page.getByRole('button', { name: 'Sign in' }).click();
        await d.page.getByRole('alert').filter({ hasText: 'not the API token' }).waitFor();
        const cookies = () => d.context.cookies();
        assert.equal((await cookies()).length, 0);
        // the browser test helper signs in the same way; here the page is reloaded to show the cookie holds
        await d.page.getByLabel('API token').fill('test-api-token-0123456789');
        await d.page.getByRole('button', { name: 'Sign in' }).click();
        await d.page.getByRole('navigation', { name: 'Pages' }).waitFor();
        const [cookie] = await cookies();
        assert.equal(cookie?.name, 'callhook_session');
        assert.equal(cookie?.httpOnly, true);
        assert.equal(cookie?.sameSite, 'Strict');
        assert.equal(await d.page.evaluate(() => document.cookie), '', 'scripts cannot read the session');
        await d.page.reload();
        await d.page.getByRole('heading', { name: 'Live' }).waitFor();
        await d.page.getByRole('button', { name: 'Sign out' }).click();
        await d.page.getByLabel('API token').waitFor();
        assert.equal((await cookies()).length, 0);
        await d.page.reload();
        await d.page.getByLabel('API token').waitFor();
        assert.deepEqual(d.errors.filter((e) => !e.includes('401')), []);
      } finally {
        await d.close();
      }
    });

    it('shows a call on Live within a second of its webhook, then moves it to in progress and off the page', async () => {
      const d = await openDashboard(browser, srv);
      try {
        await d.page.getByText('Connected').waitFor();
        const event = waitingEvent('447700900123');
        assert.equal((await postJson(`${srv.url}/webhook/events`, event)).status, 200);
        const waiting = d.page.getByRole('table', { name: 'Calls waiting' }).getByRole('row').filter({ hasText: '447700900123' });
        await waiting.waitFor({ timeout: 1000 });
        await d.page.locator('#fig-waiting').getByText('1', { exact: true }).waitFor({ timeout: 1000 });
        // the wait ticks without a reload
        const first = await waiting.locator('.wait').textContent();
        await d.page.waitForFunction((before) => document.querySelector('[aria-label="Calls waiting"] .wait')?.textContent !== before, first, { timeout: 3000 });

        const answered = { ...event, status: 'answered', time: Date.now() };
        assert.equal((await postJson(`${srv.url}/webhook/events`, answered)).status, 200);
        await d.page.getByRole('table', { name: 'Calls in progress' }).getByRole('row').filter({ hasText: '447700900123' }).waitFor({ timeout: 1000 });
        assert.equal(await waiting.count(), 0);

        const cdr = { appid: 2222223, type: 'cdr', direction: 'inbound', cmiuuid: event.cmiuuid, conversation_uuid: event.conversation_uuid, user: '201_2222223', status: 'answered', to: 440000000000, from: 447700900123, time: Date.now(), answeredsec: 3, team: 'Sales_2222223' };
        assert.equal((await postJson(`${srv.url}/webhook/cdr`, cdr)).status, 200);
        await d.page.getByText('No call in progress.').waitFor({ timeout: 2000 });
        assert.deepEqual(d.errors, []);
      } finally {
        await d.close();
      }
    });

    it('filters the call log, pages through it, and opens a call with its timeline and raw payloads', async () => {
      const d = await openDashboard(browser, srv);
      try {
        const page = await visit(d, srv, 'calls');
        await page.getByLabel('Team').fill('Support');
        await page.getByLabel('Status').selectOption('missed');
        await page.getByRole('button', { name: 'Apply' }).click();
        const expected = await apiJson<{ items: Call[] }>(srv, '/api/calls?team=Support&status=missed&limit=500');
        assert.ok(expected.items.length > 0, 'the simulation has missed Support calls');
        const rows = page.getByRole('table', { name: 'Calls' }).locator('tbody tr');
        await page.waitForFunction((n) => document.querySelectorAll('[aria-label="Calls"] tbody tr').length === n, Math.min(50, expected.items.length));
        const shown = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-call')));
        assert.deepEqual(shown, expected.items.slice(0, 50).map((c) => c.id));
        assert.match(page.url(), /team=Support/);
        assert.match(page.url(), /status=missed/);
        // the export link carries the same filters
        const href = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
        assert.match(href ?? '', /team=Support/);
        const csv = await page.evaluate(async (h) => (await fetch(h ?? '')).text(), href);
        assert.equal(csv.trim().split('\n').length, expected.items.length + 1);

        // by number: digits match from or to by prefix
        const number = expected.items[0]?.from ?? '';
        await page.getByRole('button', { name: 'Clear' }).click();
        await page.getByLabel('Number').fill(number);
        await page.getByRole('button', { name: 'Apply' }).click();
        const byNumber = await apiJson<{ items: Call[] }>(srv, `/api/calls?number=${number}&limit=500`);
        await page.waitForFunction((n) => document.querySelectorAll('[aria-label="Calls"] tbody tr').length === n, byNumber.items.length);

        // paging: 80 calls in two pages of 50
        await page.getByRole('button', { name: 'Clear' }).click();
        await page.waitForFunction(() => document.querySelectorAll('[aria-label="Calls"] tbody tr').length === 50);
        await page.getByRole('button', { name: 'Older' }).click();
        const all = await apiJson<{ items: Call[] }>(srv, '/api/calls?limit=500');
        await page.waitForFunction((n) => document.querySelectorAll('[aria-label="Calls"] tbody tr').length === n, all.items.length - 50);
        await page.getByRole('button', { name: 'Newer' }).click();
        await page.waitForFunction(() => document.querySelectorAll('[aria-label="Calls"] tbody tr').length === 50);

        // open the first call of the log
        const target = all.items.find((c) => c.legs.length > 0 && c.event_count > 1) as Call;
        await page.getByLabel('Number').fill(target.from ?? '');
        await page.getByRole('button', { name: 'Apply' }).click();
        await page.locator(`tr[data-call="${target.id}"] a`).first().click();
        await page.getByRole('heading', { name: 'Timeline' }).waitFor();
        const detail = await apiJson<Call & { events: { kind: string; raw: unknown }[] }>(srv, `/api/calls/${encodeURIComponent(target.id)}`);
        assert.equal(await page.locator('.timeline > li').count(), detail.events.length);
        await page.locator('.timeline summary').first().click();
        const raw = await page.locator('.timeline .raw').first().textContent();
        assert.deepEqual(JSON.parse(raw ?? ''), detail.events[0]?.raw);
        assert.equal(await page.getByRole('table', { name: 'Legs' }).locator('tbody tr').count(), detail.legs.length);
        if (detail.recording) await page.getByText(detail.recording).waitFor();
        assert.deepEqual(d.errors, []);
      } finally {
        await d.close();
      }
    });

    it('resolves a missed call from the callback queue with a note', async () => {
      const d = await openDashboard(browser, srv);
      try {
        const page = await visit(d, srv, 'missed');
        const open = await apiJson<{ items: MissedItem[] }>(srv, '/api/missed?state=open&limit=500');
        const first = open.items[0] as MissedItem;
        assert.ok(first, 'the simulation left open items');
        // most urgent first, as the API orders them
        const ids = await page.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-item')));
        assert.deepEqual(ids, open.items.slice(0, 50).map((i) => i.id));
        await page.getByRole('button', { name: `Resolve ${first.number}` }).click();
        await page.getByLabel('Note (optional)').fill('called back from the desk phone');
        await page.getByRole('button', { name: 'Mark resolved' }).click();
        await page.locator(`tr[data-item="${first.id}"]`).waitFor({ state: 'detached' });
        const item = await apiJson<MissedItem>(srv, `/api/missed/${encodeURIComponent(first.id)}`);
        assert.equal(item.state, 'resolved');
        assert.equal(item.resolved_by, 'manual');
        assert.equal(item.note, 'called back from the desk phone');
        await page.getByLabel('resolved').check();
        await page.locator(`tr[data-item="${first.id}"]`).getByText('called back from the desk phone').waitFor();
        assert.deepEqual(d.errors, []);
      } finally {
        await d.close();
      }
    });

    it('changes the stats range and time zone and shows the API figures for it', async () => {
      const d = await openDashboard(browser, srv);
      try {
        const page = await visit(d, srv, 'stats');
        await page.getByLabel('From', { exact: true }).fill(DAY);
        await page.getByLabel('To', { exact: true }).fill(DAY);
        await page.locator('select[name=tz]').selectOption('America/New_York');
        await page.getByRole('button', { name: 'Apply' }).click();
        await page.getByText(`${DAY} to ${DAY} in America/New_York`).waitFor();
        // 2026-01-05 in New York is 05:00Z to 05:00Z the next day
        const stats = await apiJson<{ totals: { offered: number; missed: number; answer_rate: number | null } }>(srv, '/api/stats?since=2026-01-05T05:00:00.000Z&until=2026-01-06T05:00:00.000Z&tz=America/New_York');
        assert.ok(stats.totals.offered > 0);
        await page.locator('#stat-offered .figure-value').getByText(String(stats.totals.offered), { exact: true }).waitFor();
        await page.locator('#stat-missed .figure-value').getByText(String(stats.totals.missed), { exact: true }).waitFor();
        const teams = await apiJson<{ groups: { key: string | null; offered: number }[] }>(srv, '/api/stats?since=2026-01-05T05:00:00.000Z&until=2026-01-06T05:00:00.000Z&tz=America/New_York&group_by=team');
        const teamTable = page.getByRole('table', { name: 'Figures per team' });
        for (const g of teams.groups.filter((g) => g.key !== null)) {
          await teamTable.getByRole('row', { name: new RegExp(`^${g.key} ${g.offered} `) }).waitFor();
        }
        await page.getByRole('img', { name: /calls per hour/i }).locator('canvas').first().waitFor();
        // the heatmap's cells add up to the offered calls
        const heat = await page.locator('table.heatmap td').evaluateAll((tds) => tds.reduce((sum, td) => sum + Number(td.childNodes[0]?.nodeType === 3 ? td.childNodes[0].textContent : 0), 0));
        assert.equal(heat, stats.totals.offered);
        // the definitions are at hand
        await page.getByText('How each figure is counted').click();
        await page.getByText('Offered calls answered by an agent.').waitFor();
        assert.deepEqual(d.errors, []);
      } finally {
        await d.close();
      }
    });

    it('adds a destination, shows its secret once, pauses it and counts a dry-run replay', async () => {
      const d = await openDashboard(browser, srv);
      try {
        const page = await visit(d, srv, 'destinations');
        await page.getByLabel('URL').fill('https://crm.example.com/hooks/calls');
        await page.getByLabel('Description').fill('CRM');
        await page.getByLabel('Kinds').fill('cdr.*, call.updated');
        await page.getByLabel('Field').fill('team');
        await page.getByLabel('Value').fill('Sales');
        await page.getByRole('button', { name: 'Add destination' }).click();
        const secret = await page.getByLabel('Signing secret').textContent();
        assert.match(secret ?? '', /^whsec_/);
        const { items } = await apiJson<{ items: { id: string; url: string; kinds: string[]; filters: unknown[]; state: string }[] }>(srv, '/api/destinations');
        const created = items.find((i) => i.url === 'https://crm.example.com/hooks/calls');
        assert.deepEqual(created?.kinds, ['cdr.*', 'call.updated']);
        assert.deepEqual(created?.filters, [{ field: 'team', op: 'eq', value: 'Sales' }]);
        await page.getByRole('button', { name: 'Done' }).click();
        assert.equal(await page.getByLabel('Signing secret').count(), 0);

        const card = page.locator(`[data-destination="${created?.id}"]`);
        await card.getByRole('button', { name: 'Pause' }).click();
        await card.getByRole('button', { name: 'Resume' }).waitFor();
        assert.equal((await apiJson<{ state: string }>(srv, `/api/destinations/${created?.id}`)).state, 'paused');

        await card.getByRole('button', { name: 'Deliveries and replay' }).click();
        await card.getByLabel('From', { exact: true }).fill(DAY);
        await card.getByLabel('To', { exact: true }).fill(DAY);
        await card.getByRole('button', { name: 'Count' }).click();
        await card.getByText(/Would send \d+ deliveries/).waitFor();
        assert.equal((await apiJson<{ items: unknown[] }>(srv, `/api/deliveries?destination=${created?.id}`)).items.length, 0, 'a dry run queues nothing');
        assert.deepEqual(d.errors, []);
      } finally {
        await d.close();
      }
    });

    it('opens every page without a console error, at desk and phone widths', async () => {
      for (const width of [1440, 390]) {
        const d = await openDashboard(browser, srv, { width, height: width > 1000 ? 900 : 844 });
        try {
          for (const p of PAGES) {
            const page = await visit(d, srv, p);
            await page.waitForLoadState('networkidle');
            await page.locator('[aria-busy="true"]').waitFor({ state: 'detached' }).catch(() => undefined);
            assert.equal(await page.getByRole('alert').count(), 0, `${p}: ${await page.getByRole('alert').allTextContents()}`);
          }
          assert.deepEqual(d.errors, []);
        } finally {
          await d.close();
        }
      }
    });
  });
}

/** Markup in every field the platform controls: it must come out as text, and never run. */
const XSS_SCRIPT = '<script>window.__xss=1</script>';
const XSS_IMG = '<img src=x onerror="window.__xss=1">';

describe('dashboard against markup in webhook fields', { skip }, () => {
  let srv: TestServer;
  let browser: Browser;
  let number: string;
  before(async () => {
    srv = await startTestServer('sqlite');
    browser = await launchBrowser();
    const id = randomUUID();
    number = `${XSS_IMG}447700`;
    const telecmiMissed = {
      virtual_number: XSS_SCRIPT, custom: XSS_IMG, appid: 2222223, type: 'cdr', direction: 'inbound', cmiuuid: id, conversation_uuid: id, status: 'missed',
      from: number, time: Date.now() - 60_000, waitedsec: 30, hangup_reason: XSS_SCRIPT, voicemail: true, voicename: XSS_IMG, team: `${XSS_SCRIPT}Sales`, ivr_name: XSS_IMG,
    };
    const pid = randomUUID();
    const piopiyMissed = {
      to: XSS_IMG, appid: 2222222, time: Date.now() - 30_000, start_time: Math.floor(Date.now() / 1000) - 40, end_time: Math.floor(Date.now() / 1000) - 30, from: XSS_SCRIPT,
      direction: 'inbound', duration: 0, extra_params: XSS_IMG, cmiuuid: pid, call_rate: 0, balance: '899.000000', conversation_uuid: pid, answer_time: 0, leg: 'a', status: 'missed', type: 'cdr',
    };
    for (const p of [telecmiMissed, piopiyMissed, waitingEvent(XSS_IMG, { team: XSS_SCRIPT, ivr_name: XSS_IMG })]) {
      const res = await postJson(`${srv.url}/webhook/cdr`, p);
      assert.equal(res.status, 200, await res.text());
    }
    // a rejected body is shown raw on the Ingest page
    await fetch(`${srv.url}/webhook/cdr`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{${XSS_IMG}` });
    await srv.settle();
  });
  after(async () => {
    await browser?.close();
    await srv?.close();
  });

  it('shows <script> and <img onerror> as plain text on every page and runs neither', async () => {
    const d = await openDashboard(browser, srv);
    try {
      const calls = await apiJson<{ items: Call[] }>(srv, '/api/calls');
      const pages = [...PAGES, ...calls.items.map((c) => `calls/${encodeURIComponent(c.id)}`)];
      for (const p of pages) {
        const page = await visit(d, srv, p);
        await page.waitForLoadState('networkidle');
        // open every disclosure so that raw payloads are rendered too
        for (const summary of await page.locator('summary').all()) await summary.click();
        const text = await page.locator('main').innerText();
        if (['live', 'calls', 'missed', 'ingest'].includes(p) || p.startsWith('calls/')) {
          assert.ok(text.includes('<img src=x onerror='), `${p} shows the markup as text: ${text}`);
        }
        assert.equal(await page.locator('main img, main script').count(), 0, `${p}: no element was made from a payload`);
        assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined, `${p}: nothing ran`);
      }
      assert.deepEqual(d.errors, []);
    } finally {
      await d.close();
    }
  });
});

describe('dashboard by keyboard and for contrast', { skip }, () => {
  let srv: TestServer;
  let browser: Browser;
  const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  before(async () => {
    srv = await startTestServer('sqlite');
    await sendAll(srv, generateDeliveries({ calls: 30, seed: 5, rate: 0.01 }).deliveries);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await srv?.close();
  });

  it('signs in, moves between pages and resolves a missed call with the keyboard alone', async () => {
    const d = await openDashboard(browser, srv, { signIn: false });
    const page = d.page;
    const tabTo = async (name: string, max = 80) => {
      for (let i = 0; i < max; i++) {
        await page.keyboard.press('Tab');
        const focused = await page.evaluate(() => {
          const el = document.activeElement as HTMLElement | null;
          return el ? `${el.getAttribute('aria-label') ?? ''}|${el.textContent?.trim() ?? ''}` : '';
        });
        if (focused.split('|').includes(name)) return;
      }
      assert.fail(`Tab never reached ${name}`);
    };
    try {
      // the token field has focus on arrival
      await page.waitForFunction(() => document.activeElement?.id === 'token');
      await page.keyboard.type('test-api-token-0123456789');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Live' }).waitFor();
      await tabTo('Missed');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Missed calls to call back' }).waitFor();
      const [first] = (await apiJson<{ items: MissedItem[] }>(srv, '/api/missed?state=open')).items;
      assert.ok(first);
      await tabTo(`Resolve ${first.number}`);
      await page.keyboard.press('Enter');
      // the note field takes focus; Tab reaches the submit button
      await page.waitForFunction(() => document.activeElement?.tagName === 'TEXTAREA');
      await page.keyboard.type('keyboard only');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await page.locator(`tr[data-item="${first.id}"]`).waitFor({ state: 'detached' });
      assert.equal((await apiJson<MissedItem>(srv, `/api/missed/${encodeURIComponent(first.id)}`)).note, 'keyboard only');
      // a focused control is visibly marked
      await tabTo('Stats');
      const outline = await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle);
      assert.equal(outline, 'solid');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Stats' }).waitFor();
      assert.deepEqual(d.errors, []);
    } finally {
      await d.close();
    }
  });

  it('passes axe (WCAG 2 AA: contrast, names, keyboard) on every page, in light and dark schemes', async () => {
    for (const colorScheme of ['light', 'dark'] as const) {
      // axe is injected as an inline script, which the page's own policy rightly refuses
      const d = await openDashboard(browser, srv, { bypassCSP: true });
      await d.page.emulateMedia({ colorScheme });
      try {
        for (const p of PAGES) {
          const page = await visit(d, srv, p);
          await page.waitForLoadState('networkidle');
          for (const summary of await page.locator('main summary').all()) await summary.click();
          await page.addScriptTag({ content: axeSource });
          const violations = await page.evaluate(async () => {
            const axe = (window as unknown as { axe: { run: (ctx: Document, opts: unknown) => Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe;
            const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
            return result.violations.map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
          });
          assert.deepEqual(violations, [], `${colorScheme} ${p}`);
        }
      } finally {
        await d.close();
      }
    }
    // and the sign-in page
    const d = await openDashboard(browser, srv, { signIn: false, bypassCSP: true });
    try {
      await d.page.addScriptTag({ content: axeSource });
      const violations = await d.page.evaluate(async () => {
        const axe = (window as unknown as { axe: { run: (ctx: Document, opts: unknown) => Promise<{ violations: { id: string }[] }> } }).axe;
        return (await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } })).violations.map((v) => v.id);
      });
      assert.deepEqual(violations, []);
    } finally {
      await d.close();
    }
  });
});
