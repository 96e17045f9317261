import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, stop } from '../helpers/process.js';
import { serveChild } from '../helpers/serve-child.js';
import { API_TOKEN, startTestServer, type TestServer } from '../helpers/server.js';

/** The dashboard's HTTP side: its assets and headers, and sign-in by session cookie. */
describe('dashboard serving and sessions', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer('sqlite', { CALLHOOK_WEBHOOK_TOKEN: 'hook-secret-1', CALLHOOK_SESSION_HOURS: '2' });
  });
  after(() => srv.close());

  const signIn = async (token = API_TOKEN, headers: Record<string, string> = {}) =>
    fetch(`${srv.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ token }) });
  const cookieOf = (res: Response) => (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';

  it('serves the page revalidated every load, with a strict content security policy, and hashed assets cached for a year', async () => {
    const page = await fetch(`${srv.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    const html = await page.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, 'the page loads a hashed script');
    const asset = await fetch(`${srv.url}${script}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type') ?? '', /javascript/);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal((await fetch(`${srv.url}/assets/nothing-here.js`)).status, 404);
    // the webhook receiver and the API are not shadowed by the page
    assert.equal((await fetch(`${srv.url}/api/calls`)).status, 401);
  });

  it('signs in with the API token into an HttpOnly, SameSite=Strict cookie that authenticates the API', async () => {
    const wrong = await signIn('not-the-token');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);

    const res = await signIn();
    assert.equal(res.status, 200);
    const setCookie = res.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^callhook_session=/);
    assert.match(setCookie, /HttpOnly/i);
    assert.match(setCookie, /SameSite=Strict/i);
    assert.match(setCookie, /Path=\//);
    const expires = Date.parse(/Expires=([^;]+)/i.exec(setCookie)?.[1] ?? '');
    assert.ok(Math.abs(expires - (Date.now() + 2 * 3_600_000)) < 60_000, 'lasts CALLHOOK_SESSION_HOURS');
    // plain http here: a Secure cookie would never come back
    assert.doesNotMatch(setCookie, /Secure/i);

    const cookie = cookieOf(res);
    assert.equal((await fetch(`${srv.url}/api/calls`, { headers: { cookie } })).status, 200);
    assert.deepEqual(await (await fetch(`${srv.url}/api/session`, { headers: { cookie } })).json(), { signed_in: true });
    const info = (await (await fetch(`${srv.url}/api/info`, { headers: { cookie } })).json()) as { webhook_url: string; tz: string };
    assert.equal(info.webhook_url, `${srv.url}/webhook/cdr?token=hook-secret-1`);
    assert.equal(info.tz, 'UTC');
    // the stream takes the cookie too (EventSource cannot send a header)
    const controller = new AbortController();
    const stream = await fetch(`${srv.url}/api/stream`, { headers: { cookie }, signal: controller.signal });
    assert.equal(stream.status, 200);
    controller.abort();
  });

  it('refuses a cookie-authenticated change from another origin, and a forged or expired cookie', async () => {
    const cookie = cookieOf(await signIn());
    const addDestination = (headers: Record<string, string>) => fetch(`${srv.url}/api/destinations`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ url: 'http://127.0.0.1:9/x', kinds: ['*'] }) });
    const cross = await addDestination({ origin: 'https://evil.example' });
    assert.equal(cross.status, 403);
    assert.equal(((await cross.json()) as { error: { code: string } }).error.code, 'cross_site_request');
    assert.equal((await addDestination({ 'sec-fetch-site': 'cross-site' })).status, 403);
    assert.equal((await addDestination({ origin: srv.url })).status, 201);
    // a Bearer token is not a cookie: no origin check applies
    assert.equal((await srv.api('/api/destinations', { method: 'POST', headers: { origin: 'https://elsewhere.example', 'content-type': 'application/json' }, body: JSON.stringify({ url: 'http://127.0.0.1:9/y', kinds: ['*'] }) })).status, 201);
    // sign-in itself cannot be posted from another site
    assert.equal((await signIn(API_TOKEN, { origin: 'https://evil.example' })).status, 403);

    const [expires = '', signature = ''] = cookie.slice('callhook_session='.length).split('.');
    const later = `callhook_session=${Number(expires) + 1000}.${signature}`;
    assert.equal((await fetch(`${srv.url}/api/calls`, { headers: { cookie: later } })).status, 401, 'the expiry is signed');
    const past = `callhook_session=${Date.now() - 1000}.${signature}`;
    assert.equal((await fetch(`${srv.url}/api/calls`, { headers: { cookie: past } })).status, 401);
  });

  it('signs out by clearing the cookie', async () => {
    const cookie = cookieOf(await signIn());
    const out = await fetch(`${srv.url}/api/session`, { method: 'DELETE', headers: { cookie, origin: srv.url } });
    assert.equal(out.status, 200);
    assert.deepEqual(await out.json(), { signed_in: false });
    const cleared = out.headers.get('set-cookie') ?? '';
    assert.match(cleared, /^callhook_session=;/);
    assert.match(cleared, /Expires=Thu, 01 Jan 1970/i);
  });

  it('ends every session when the API token changes', async () => {
    const cookie = cookieOf(await signIn());
    const other = await startTestServer('sqlite', { CALLHOOK_API_TOKEN: 'another-api-token-0123456789' });
    try {
      assert.equal((await fetch(`${other.url}/api/calls`, { headers: { cookie } })).status, 401);
    } finally {
      await other.close();
    }
  });
});

describe('callhook serve and the dashboard', () => {
  it('prints the dashboard address at start-up, and the page is there', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'callhook-banner-'));
    const port = await freePort();
    const child = await serveChild({ dataDir, databaseUrl: '' }, port);
    try {
      await child.waitFor('Dashboard: ');
      const url = /Dashboard: (\S+)/.exec(child.output())?.[1];
      assert.equal(url, `http://127.0.0.1:${port}/`);
      const page = await fetch(url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<title>callhook<\/title>/);
    } finally {
      await stop(child);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
