/**
 * Makes docs/screenshots/*.png: each dashboard page at 1440×900 and at phone width (390×844),
 * against a server filled with simulated traffic. `npm run screenshots` (needs Chromium).
 */
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateDeliveries } from '../src/simulator/index.js';
import { launchBrowser, openDashboard, waitForData } from '../test/helpers/browser.js';
import { postJson, startTestServer } from '../test/helpers/server.js';
import { sendAll } from '../test/helpers/simulate.js';

const out = join(import.meta.dirname, '..', 'docs', 'screenshots');
mkdirSync(out, { recursive: true });

const receiver = createServer((_req, res) => res.writeHead(204).end());
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const port = (receiver.address() as { port: number }).port;

const srv = await startTestServer('sqlite', { CALLHOOK_ALERT_WAIT_SEC: '60', CALLHOOK_ALERT_INTERVAL_MS: '200', CALLHOOK_TZ: 'Asia/Kolkata' });
const now = Date.now();
const hours = 10;
await srv.api('/api/destinations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `http://127.0.0.1:${port}/hooks/calls`, description: 'CRM: every CDR', kinds: ['cdr.*'] }) });
await srv.api('/api/destinations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: 'https://chat.example.com/hooks/missed', description: 'Team chat: missed Sales calls', kinds: ['cdr.inbound.missed'], filters: [{ field: 'team', op: 'eq', value: 'Sales' }], state: 'paused' }) });
await sendAll(srv, generateDeliveries({ calls: 600, seed: 7, start: now - hours * 3_600_000, rate: 600 / (hours * 3600), returning: 0.25 }).deliveries.filter((d) => d.at < now));
// calls live now: some waiting, some talking
for (const [i, from] of ['919812345670', '919876500011', '447700900321'].entries()) {
  const id = randomUUID();
  await postJson(`${srv.url}/webhook/events`, { type: 'event', direction: 'inbound', conversation_uuid: id, cmiuuid: id, from, app_id: 2222223, time: now - (25 + i * 40) * 1000, to: 440000000000, status: 'waiting' });
}
for (const [i, from] of ['919900012345', '447711122233'].entries()) {
  const id = randomUUID();
  await postJson(`${srv.url}/webhook/events`, { type: 'event', direction: 'inbound', conversation_uuid: id, cmiuuid: id, from, app_id: 2222223, time: now - 200_000, to: 440000000000, status: 'waiting' });
  await postJson(`${srv.url}/webhook/events`, { type: 'event', direction: 'inbound', conversation_uuid: id, cmiuuid: id, from, app_id: 2222223, time: now - (180 - i * 70) * 1000, to: 440000000000, status: 'answered' });
}
await fetch(`${srv.url}/webhook/cdr`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"cdr", "status": ' });
await srv.settle();
await new Promise((r) => setTimeout(r, 1500));

const browser = await launchBrowser();
const calls = (await (await srv.api('/api/calls?status=answered&limit=1')).json()) as { items: { id: string }[] };
const pages: [string, string][] = [
  ['live', 'live'],
  ['calls', 'calls'],
  ['call', `calls/${encodeURIComponent(calls.items[0]?.id ?? '')}`],
  ['missed', 'missed'],
  ['stats', 'stats'],
  ['ingest', 'ingest'],
  ['destinations', 'destinations'],
  ['alerts', 'alerts'],
];
for (const [suffix, width, height] of [['desktop', 1440, 900], ['phone', 390, 844]] as const) {
  const signIn = await openDashboard(browser, srv, { signIn: false, width, height });
  await signIn.page.screenshot({ path: join(out, `sign-in-${suffix}.png`) });
  await signIn.close();
  const d = await openDashboard(browser, srv, { width, height });
  for (const [name, hash] of pages) {
    await d.page.goto(`${srv.url}/#/${hash}`);
    await d.page.waitForLoadState('networkidle');
    await waitForData(d.page);
    if (name === 'call') await d.page.locator('.timeline summary').first().click();
    if (name === 'ingest') await d.page.locator('.request-rejected summary').first().click();
    await d.page.waitForTimeout(300);
    await d.page.screenshot({ path: join(out, `${name}-${suffix}.png`) });
  }
  if (d.errors.length > 0) console.error(d.errors);
  await d.close();
}
await browser.close();
await srv.close();
receiver.close();
console.log(`screenshots written to ${out}`);
