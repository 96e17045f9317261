import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { Webhooks, createNodeMiddleware, createWebHandler, fastifyWebhooks, type Event } from '../../src/index.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { freePort, start, stop } from '../helpers/process.js';

const fixtures = loadFixtures();
const missed = fixtures.find((f) => f.name === 'telecmi/cdr-inbound-missed')!;
const answered = fixtures.find((f) => f.name === 'telecmi/cdr-inbound-answered')!;
const root = join(import.meta.dirname, '..', '..');

describe('typed handlers', () => {
  it('a handler receives the narrowed event and a misspelt kind does not compile', async () => {
    const webhooks = new Webhooks();
    const seen: string[] = [];
    webhooks.on('cdr.inbound.missed', (cdr) => {
      const status: 'missed' = cdr.status;
      const type: 'cdr' = cdr.type;
      // @ts-expect-error a missed CDR's status is not 'answered'
      const wrong: 'answered' = cdr.status;
      seen.push(`${type}:${status}:${String(wrong)}:${cdr.waited_sec}`);
    });
    webhooks.on(['event.inbound.waiting', 'event.inbound.answered'], (e) => {
      const direction: 'inbound' = e.direction;
      seen.push(direction);
    });
    webhooks.on('callback.none.dtmf', (e) => {
      const direction: null = e.direction;
      seen.push(String(direction));
    });
    // @ts-expect-error misspelt kind
    webhooks.on('cdr.inbound.mised', () => undefined);
    // @ts-expect-error a kind the platform does not document
    webhooks.on('cdr.inbound.ringing', () => undefined);
    webhooks.on('unknown', (e) => {
      const reason: string = e.unknown_reason;
      seen.push(reason);
    });
    const handler = createWebHandler(webhooks);
    const res = await handler(new Request('http://x/webhook/cdr', { method: 'POST', body: JSON.stringify(missed.payload) }));
    assert.equal(res.status, 200);
    assert.deepEqual(seen, ['cdr:missed:missed:127']);
  });

  it('onAny sees every kind, removeListener stops a handler', async () => {
    const webhooks = new Webhooks();
    const kinds: string[] = [];
    const onMissed = () => kinds.push('missed-handler');
    webhooks.onAny((e: Event) => kinds.push(e.kind));
    webhooks.on('cdr.inbound.missed', onMissed);
    webhooks.removeListener('cdr.inbound.missed', onMissed);
    const handler = createWebHandler(webhooks);
    await handler(new Request('http://x/webhook', { method: 'POST', body: JSON.stringify(missed.payload) }));
    await handler(new Request('http://x/webhook', { method: 'POST', body: JSON.stringify(answered.payload) }));
    assert.deepEqual(kinds, ['cdr.inbound.missed', 'cdr.inbound.answered']);
  });
});

describe('adapters', () => {
  function recordingWebhooks(options?: ConstructorParameters<typeof Webhooks>[0]) {
    const webhooks = new Webhooks(options);
    const events: Event[] = [];
    const errors: Error[] = [];
    webhooks.onAny(async (e) => {
      await new Promise((r) => setTimeout(r, 20));
      if (e.raw['fail'] === 'yes') throw new Error('CRM is down');
      events.push(e);
    });
    webhooks.onError((err) => void errors.push(err));
    return { webhooks, events, errors };
  }

  const adapters: { name: string; serve: (w: Webhooks) => Promise<{ url: string; close: () => Promise<void> }> }[] = [
    {
      name: 'node:http',
      serve: async (w) => {
        const mw = createNodeMiddleware(w, { path: '/webhook' });
        const server = createServer((req, res) => void mw(req, res));
        return listen(server);
      },
    },
    {
      name: 'fastify',
      serve: async (w) => {
        const app = Fastify();
        await app.register(fastifyWebhooks, { webhooks: w, path: '/webhook' });
        const url = await app.listen({ port: 0, host: '127.0.0.1' });
        return { url, close: () => app.close() };
      },
    },
    {
      name: 'web Request/Response',
      serve: async (w) => {
        const handle = createWebHandler(w);
        const server = createServer(async (req, res) => {
          const chunks: Buffer[] = [];
          for await (const c of req) chunks.push(c as Buffer);
          const request = new Request(`http://127.0.0.1${req.url}`, {
            method: req.method,
            headers: req.headers as Record<string, string>,
            body: req.method === 'GET' ? null : Buffer.concat(chunks),
          });
          const response = await handle(request);
          res.writeHead(response.status, Object.fromEntries(response.headers)).end(await response.text());
        });
        return listen(server);
      },
    },
  ];

  for (const adapter of adapters) {
    describe(adapter.name, () => {
      it('runs handlers before answering, for POST JSON, form and GET', async () => {
        const { webhooks, events } = recordingWebhooks();
        const srv = await adapter.serve(webhooks);
        try {
          let res = await fetch(`${srv.url}/webhook/cdr`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(missed.payload) });
          assert.equal(res.status, 200);
          assert.deepEqual(await res.json(), { ok: true, kind: 'cdr.inbound.missed' });
          assert.equal(events.length, 1, 'the handler finished before the response');
          const form = new URLSearchParams({ type: 'event', direction: 'inbound', status: 'waiting', cmiuuid: 'abc', from: '04471000000' });
          res = await fetch(`${srv.url}/webhook/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
          assert.equal(res.status, 200);
          res = await fetch(`${srv.url}/webhook/piopiy?${form}`);
          assert.equal(res.status, 200);
          assert.deepEqual(events.map((e) => [e.kind, e.from, e.platform]), [
            ['cdr.inbound.missed', '440000000001', 'telecmi'],
            ['event.inbound.waiting', '04471000000', 'telecmi'],
            ['event.inbound.waiting', '04471000000', 'piopiy'],
          ]);
        } finally {
          await srv.close();
        }
      });

      it('answers 500 with a clear body when a handler throws, and calls onError', async () => {
        const { webhooks, errors } = recordingWebhooks();
        const srv = await adapter.serve(webhooks);
        try {
          const res = await fetch(`${srv.url}/webhook`, { method: 'POST', body: JSON.stringify({ ...missed.payload, fail: 'yes' }) });
          assert.equal(res.status, 500);
          const body = (await res.json()) as { ok: boolean; error: { code: string; message: string } };
          assert.equal(body.error.code, 'handler_failed');
          assert.match(body.error.message, /CRM is down/);
          assert.equal(errors.length, 1);
          assert.match(errors[0]!.message, /CRM is down/);
        } finally {
          await srv.close();
        }
      });

      it('rejects bad input, other methods and a wrong token', async () => {
        const { webhooks, events } = recordingWebhooks({ token: ['old-secret', 'new-secret'] });
        const srv = await adapter.serve(webhooks);
        try {
          const post = (q: string, body: string) => fetch(`${srv.url}/webhook${q}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          assert.equal((await post('', JSON.stringify(missed.payload))).status, 401);
          assert.equal((await post('?token=wrong', JSON.stringify(missed.payload))).status, 401);
          assert.equal((await post('?token=old-secret', JSON.stringify(missed.payload))).status, 200);
          assert.equal((await post('?token=new-secret', JSON.stringify(missed.payload))).status, 200);
          const bad = await post('?token=new-secret', '{"type":');
          assert.equal(bad.status, 400);
          assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'invalid_json');
          assert.equal((await fetch(`${srv.url}/webhook?token=new-secret`, { method: 'DELETE' })).status, 405);
          assert.equal(events.length, 2);
          assert.ok(events.every((e) => !('token' in e.raw)));
        } finally {
          await srv.close();
        }
      });
    });
  }
});

describe('the README example', () => {
  let child: ReturnType<typeof start> | undefined;
  let port = 0;
  before(async () => {
    assert.ok(existsSync(join(root, 'dist', 'index.js')), 'the package is built (npm ci runs the build)');
    port = await freePort();
    child = start(process.execPath, [join(root, 'examples', 'express-server.mjs')], { PORT: String(port) });
    for (let i = 0; i < 100; i++) {
      try {
        await fetch(`http://127.0.0.1:${port}/`);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });
  after(async () => {
    if (child) await stop(child);
  });

  it('is shown in the README word for word, in under 15 lines', () => {
    const example = readFileSync(join(root, 'examples', 'express-server.mjs'), 'utf8');
    assert.ok(readFileSync(join(root, 'README.md'), 'utf8').includes(example.trim()), 'README shows examples/express-server.mjs');
    assert.ok(example.trim().split('\n').length < 15);
  });

  it('logs a missed and an answered CDR posted to it over HTTP', async () => {
    for (const fx of [missed, answered]) {
      const res = await fetch(`http://127.0.0.1:${port}/webhook/cdr`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fx.payload) });
      assert.equal(res.status, 200);
    }
    await child!.waitFor('9200000000 talked to 103_1111113 for 117s');
    assert.match(child!.output(), /missed call from 440000000001/);
  });
});

async function listen(server: Server): Promise<{ url: string; close: () => Promise<void> }> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}
