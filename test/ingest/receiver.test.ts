import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveApiToken } from '../../src/main.js';
import { loadFixtures, toFormFields } from '../helpers/fixtures.js';
import { DIALECTS } from '../helpers/dialects.js';
import { postJson, startTestServer, tempDir, type TestServer } from '../helpers/server.js';

const fixtures = loadFixtures();
const missed = fixtures.find((f) => f.name === 'telecmi/cdr-inbound-missed')!;

interface Ack {
  ok: boolean;
  id: string;
  kind: string;
  duplicate: boolean;
  error?: { code: string; message: string };
}

async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    describe('receiver', () => {
      let srv: TestServer;
      before(async () => {
        srv = await startTestServer(dialect);
      });
      after(async () => {
        await srv.close();
      });

      describe('every documented payload, by POST JSON, GET query string and POST form', () => {
        for (const fx of fixtures) {
          it(fx.name, async () => {
            const fields = toFormFields(fx.payload);
            // each encoding is sent to its own platform path so that the three are three events
            const sends: [string, () => Promise<Response>][] = [
              ['json', () => postJson(`${srv.url}/webhook/cdr`, fx.payload)],
              ['query', () => fetch(`${srv.url}/webhook/${fx.event.platform}/get?${fields}`)],
              ['form', () => fetch(`${srv.url}/webhook/${fx.event.platform}/form`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: fields })],
            ];
            for (const [how, send] of sends) {
              const res = await send();
              const ack = await json<Ack>(res);
              assert.equal(res.status, fx.event.kind === 'unknown' ? 202 : 200, `${how}: ${JSON.stringify(ack)}`);
              assert.equal(ack.ok, true);
              assert.equal(ack.kind, fx.event.kind, how);
              const stored = await json<Record<string, unknown>>(await srv.api(`/api/events/${ack.id}`));
              assert.equal(stored['kind'], fx.event.kind);
              assert.equal(stored['call_uuid'], fx.event.call_uuid);
              assert.equal(stored['from'], fx.event.from);
              if (how === 'json' && !ack.duplicate) assert.deepEqual(stored['raw'], fx.payload);
            }
          });
        }
      });

      it('recognises a redelivery: 200 duplicate, the same id, one event, every request kept', async () => {
        const payload = { ...missed.payload, cmiuuid: 'redelivered-0001' };
        const first = await json<Ack>(await postJson(`${srv.url}/webhook/cdr`, payload));
        assert.equal(first.duplicate, false);
        const acks: Ack[] = [];
        for (let i = 0; i < 3; i++) {
          const res = await postJson(`${srv.url}/webhook/cdr`, payload);
          assert.equal(res.status, 200);
          acks.push(await json<Ack>(res));
        }
        for (const ack of acks) assert.deepEqual(ack, { ok: true, id: first.id, kind: 'cdr.inbound.missed', duplicate: true });
        const event = await json<{ redeliveries: number }>(await srv.api(`/api/events/${first.id}`));
        assert.equal(event.redeliveries, 3);
        const events = await json<{ items: { id: string; call_uuid: string }[] }>(await srv.api('/api/events?kind=cdr.inbound.missed&limit=500'));
        assert.equal(events.items.filter((e) => e.call_uuid === 'redelivered-0001').length, 1);
        const dups = await json<{ items: { event_id: string; body: string }[] }>(await srv.api('/api/requests?outcome=duplicate&limit=500'));
        const mine = dups.items.filter((r) => r.event_id === first.id);
        assert.equal(mine.length, 3);
        assert.deepEqual(JSON.parse(mine[0]!.body), payload);
      });

      it('stores an unknown kind and answers 202', async () => {
        const res = await postJson(`${srv.url}/webhook`, { type: 'agent', user: '103_1111113', status: 'online' });
        assert.equal(res.status, 202);
        const ack = await json<Ack>(res);
        assert.equal(ack.kind, 'unknown');
        const stored = await json<{ unknown_reason: string; raw: unknown }>(await srv.api(`/api/events/${ack.id}`));
        assert.match(stored.unknown_reason, /agent/);
      });

      describe('malformed input gets 400 with its code and is kept as a rejected request', () => {
        const cases: [string, RequestInit, string][] = [
          ['invalid JSON', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"cdr",' }, 'invalid_json'],
          ['an empty body', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' }, 'empty_body'],
          ['a GET with no query', { method: 'GET' }, 'empty_body'],
          ['a JSON array', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[{"type":"cdr"}]' }, 'not_an_object'],
          ['a JSON string', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '"cdr"' }, 'not_an_object'],
          ['plain text', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' }, 'undecodable_body'],
        ];
        for (const [name, init, code] of cases) {
          it(name, async () => {
            // without a body the query string is the payload, so the empty cases carry none
            const query = init.body ? 'source=test' : '';
            const res = await fetch(`${srv.url}/webhook/cdr${query ? `?${query}` : ''}`, init);
            assert.equal(res.status, 400);
            const body = await json<{ ok: boolean; id: string; error: { code: string; message: string } }>(res);
            assert.equal(body.ok, false);
            assert.equal(body.error.code, code);
            assert.ok(body.error.message.length > 20);
            const stored = await json<Record<string, unknown>>(await srv.api(`/api/requests/${body.id}`));
            assert.equal(stored['outcome'], 'rejected');
            assert.equal(stored['method'], init.method);
            assert.equal(stored['path'], '/webhook/cdr');
            assert.equal(stored['query'], query);
            assert.equal(stored['remote_addr'], '127.0.0.1');
            assert.deepEqual(stored['error'], body.error);
            assert.equal(stored['body'], typeof init.body === 'string' ? init.body : null);
            assert.ok(typeof stored['received_at'] === 'string');
            assert.equal((stored['headers'] as Record<string, string>)['content-type'], (init.headers as Record<string, string> | undefined)?.['content-type']);
          });
        }
      });

      it('keeps bytes that are not UTF-8 exactly', async () => {
        const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
        const res = await fetch(`${srv.url}/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bytes });
        assert.equal(res.status, 400);
        const { id } = await json<{ id: string }>(res);
        const stored = await json<{ body: string | null; body_base64: string }>(await srv.api(`/api/requests/${id}`));
        assert.equal(stored.body, null);
        assert.deepEqual(Buffer.from(stored.body_base64, 'base64'), bytes);
      });

      it('answers 405 for other methods', async () => {
        for (const method of ['PUT', 'DELETE', 'PATCH']) {
          const res = await fetch(`${srv.url}/webhook/cdr`, { method, body: method === 'DELETE' ? null : '{}' });
          assert.equal(res.status, 405, method);
          assert.equal((await json<{ error: { code: string } }>(res)).error.code, 'method_not_allowed');
          assert.match(res.headers.get('allow') ?? '', /POST/);
        }
      });

      describe('the API', () => {
        it('needs the bearer token', async () => {
          for (const path of ['/api/events', '/api/requests', '/metrics', '/api/events/x']) {
            assert.equal((await fetch(`${srv.url}${path}`)).status, 401, path);
            assert.equal((await fetch(`${srv.url}${path}`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status, 401, path);
          }
          assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
        });

        it('pages newest first with an opaque cursor and filters by kind, platform and time', async () => {
          const ids: string[] = [];
          for (let i = 0; i < 5; i++) {
            const ack = await json<Ack>(await postJson(`${srv.url}/webhook/piopiy`, { ...missed.payload, cmiuuid: `page-${i}` }));
            ids.push(ack.id);
          }
          const seen: string[] = [];
          let cursor: string | null = null;
          do {
            const q: string = `/api/events?kind=cdr.inbound.missed&platform=piopiy&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
            const pageBody: { items: { id: string; platform: string }[]; next_cursor: string | null } = await json(await srv.api(q));
            assert.ok(pageBody.items.length <= 2);
            for (const item of pageBody.items) assert.equal(item.platform, 'piopiy');
            seen.push(...pageBody.items.map((i) => i.id));
            cursor = pageBody.next_cursor;
          } while (cursor);
          assert.deepEqual(seen.filter((id) => ids.includes(id)), [...ids].reverse());
          const future = await json<{ items: unknown[] }>(await srv.api(`/api/events?since=${new Date(Date.now() + 60_000).toISOString()}`));
          assert.equal(future.items.length, 0);
          const bad = await srv.api('/api/events?cursor=not-a-cursor');
          assert.equal(bad.status, 400);
          assert.equal((await json<{ error: { code: string } }>(bad)).error.code, 'invalid_cursor');
          assert.equal((await srv.api('/api/events?kind=cdr.inbound.mised')).status, 400);
          assert.equal((await srv.api('/api/events?limit=100000')).status, 400);
          assert.equal((await srv.api('/api/events/00000000-0000-7000-8000-000000000000')).status, 404);
        });

        it('serves Prometheus metrics', async () => {
          const text = await (await srv.api('/metrics')).text();
          assert.match(text, /callhook_webhook_requests_total\{outcome="accepted",kind="cdr.inbound.missed"\} \d+/);
          assert.match(text, /callhook_webhook_requests_total\{outcome="rejected",kind="none"\} \d+/);
          assert.match(text, /callhook_commit_batch_size_count \d+/);
          assert.match(text, /callhook_commit_duration_seconds_bucket/);
          assert.match(text, /callhook_ack_duration_seconds_bucket/);
        });
      });
    });

    describe('webhook security', () => {
      it('a token, comma-separated for rotation: 401 without a match, counted and not stored', async () => {
        const srv = await startTestServer(dialect, { CALLHOOK_WEBHOOK_TOKEN: 'old-secret-1,new-secret-2' });
        try {
          assert.equal((await postJson(`${srv.url}/webhook/cdr`, missed.payload)).status, 401);
          const wrong = await postJson(`${srv.url}/webhook/cdr?token=old-secret`, missed.payload);
          assert.equal(wrong.status, 401);
          assert.equal((await json<{ error: { code: string } }>(wrong)).error.code, 'unauthorized_webhook');
          assert.equal((await postJson(`${srv.url}/webhook/cdr?token=old-secret-1`, missed.payload)).status, 200);
          const res = await fetch(`${srv.url}/webhook/cdr?token=new-secret-2&${toFormFields({ ...missed.payload, cmiuuid: 'get-1' })}`);
          assert.equal(res.status, 200);
          const requests = await json<{ items: { query: string; outcome: string }[] }>(await srv.api('/api/requests'));
          assert.equal(requests.items.length, 2, 'the 401s are not stored');
          for (const r of requests.items) assert.doesNotMatch(r.query, /token|secret/);
          const metrics = await (await srv.api('/metrics')).text();
          assert.match(metrics, /callhook_webhook_requests_total\{outcome="unauthorized",kind="none"\} 2/);
          assert.ok(srv.lines.some((l) => l.includes('/webhook/cdr?token=old-secret-1')), 'the start-up lines show the webhook URL with its token');
        } finally {
          await srv.close();
        }
      });

      it('an allow-list: 403 outside it; X-Forwarded-For counts only from a trusted proxy', async () => {
        const outside = await startTestServer(dialect, { CALLHOOK_WEBHOOK_ALLOW: '203.0.113.0/24' });
        try {
          const res = await postJson(`${outside.url}/webhook`, missed.payload, { 'x-forwarded-for': '203.0.113.9' });
          assert.equal(res.status, 403, 'X-Forwarded-For is ignored without CALLHOOK_TRUST_PROXY');
          assert.equal((await json<{ error: { code: string } }>(res)).error.code, 'forbidden_address');
        } finally {
          await outside.close();
        }
        const proxied = await startTestServer(dialect, { CALLHOOK_WEBHOOK_ALLOW: '203.0.113.0/24, 2001:db8::/32', CALLHOOK_TRUST_PROXY: '127.0.0.1' });
        try {
          assert.equal((await postJson(`${proxied.url}/webhook`, missed.payload, { 'x-forwarded-for': '203.0.113.9' })).status, 200);
          assert.equal((await postJson(`${proxied.url}/webhook`, missed.payload, { 'x-forwarded-for': '198.51.100.1' })).status, 403);
          const requests = await json<{ items: { remote_addr: string }[] }>(await proxied.api('/api/requests'));
          assert.deepEqual(requests.items.map((r) => r.remote_addr), ['203.0.113.9']);
        } finally {
          await proxied.close();
        }
        const local = await startTestServer(dialect, { CALLHOOK_WEBHOOK_ALLOW: '127.0.0.0/8' });
        try {
          assert.equal((await postJson(`${local.url}/webhook`, missed.payload)).status, 200);
        } finally {
          await local.close();
        }
      });

      it('a body over the limit gets 413 and is recorded as rejected', async () => {
        const srv = await startTestServer(dialect, { CALLHOOK_BODY_LIMIT: '2048' });
        try {
          const big = { ...missed.payload, custom: 'x'.repeat(3000) };
          const res = await postJson(`${srv.url}/webhook/cdr`, big);
          assert.equal(res.status, 413);
          assert.equal((await json<{ error: { code: string } }>(res)).error.code, 'payload_too_large');
          const rejected = await json<{ items: { error: { code: string }; body: null; status_code: number }[] }>(await srv.api('/api/requests?outcome=rejected'));
          assert.equal(rejected.items[0]?.error.code, 'payload_too_large');
          assert.equal(rejected.items[0]?.status_code, 413);
          assert.equal((await postJson(`${srv.url}/webhook/cdr`, missed.payload)).status, 200);
        } finally {
          await srv.close();
        }
      });
    });

    describe('the API token', () => {
      it('is generated once, saved with mode 0600, and printed at start-up', async () => {
        const temp = tempDir();
        try {
          const first = resolveApiToken({ dataDir: temp.dir });
          assert.equal(first.source, 'generated');
          assert.ok(first.token.length >= 32);
          assert.equal(statSync(join(temp.dir, 'api-token')).mode & 0o777, 0o600);
          const again = resolveApiToken({ dataDir: temp.dir });
          assert.deepEqual([again.source, again.token], ['file', first.token]);
          assert.equal(resolveApiToken({ dataDir: temp.dir, apiToken: 'from-the-environment-123' }).token, 'from-the-environment-123');

          const srv = await startTestServer(dialect, { CALLHOOK_DATA_DIR: temp.dir, CALLHOOK_API_TOKEN: '' });
          try {
            assert.ok(srv.lines.some((l) => l.includes(first.token)));
            const res = await fetch(`${srv.url}/api/events`, { headers: { authorization: `Bearer ${first.token}` } });
            assert.equal(res.status, 200);
          } finally {
            await srv.close();
          }
        } finally {
          temp.remove();
        }
      });
    });
  });
}
