import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { Delivery, Destination } from '../../src/forward/destinations.js';
import { DIALECTS } from '../helpers/dialects.js';
import { startReceiver, verify, type Receiver } from '../helpers/receiver.js';
import { waitUntil } from '../helpers/serve-child.js';
import { postJson, startTestServer, type TestServer } from '../helpers/server.js';

const run = promisify(execFile);
const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

for (const dialect of DIALECTS) {
  describe(`callhook destinations and callhook replay (${dialect})`, () => {
    let srv: TestServer;
    let rx: Receiver;
    before(async () => {
      srv = await startTestServer(dialect, { CALLHOOK_FORWARD_POLL_MS: '50' });
      rx = await startReceiver();
    });
    after(async () => {
      await srv.close();
      await rx.close();
    });

    /** The command against the running server's own data. */
    const callhook = async (...args: string[]) => {
      const where = srv.config.databaseUrl ? ['--database-url', srv.config.databaseUrl] : ['--data-dir', srv.config.dataDir];
      try {
        const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', main, ...args, ...where], { env: { ...process.env, DATABASE_URL: '' } });
        return { code: 0, out: stdout + stderr };
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, out: e.stdout + e.stderr };
      }
    };
    const destination = async (id: string) => (await (await srv.api(`/api/destinations/${id}`)).json()) as Destination;
    const cdr = (id: string) => postJson(`${srv.url}/webhook/cdr`, { appid: 2222223, type: 'cdr', direction: 'inbound', status: 'missed', cmiuuid: id, conversation_uuid: id, from: 447000000200, time: Date.now(), waitedsec: 4, team: 'Sales_2222223' });

    it('adds, lists, pauses, resumes and removes a destination the running server delivers to', async () => {
      const added = await callhook('destinations', 'add', '--url', rx.url, '--kinds', 'cdr.*', '--filter', 'team=Sales', '--header', 'X-Crm-Key: k1', '--paused');
      assert.equal(added.code, 0, added.out);
      const [, id, secret] = /added destination (\d+) \(paused\)[\s\S]*signing secret \(shown once\): (whsec_\S+)/.exec(added.out) ?? [];
      assert.ok(id && secret, added.out);
      const listed = await callhook('destinations', 'list');
      assert.match(listed.out, new RegExp(`^${id}  paused  ${rx.url.replace(/[.]/g, '\\.')}  cdr\\.\\*  team=Sales$`, 'm'));
      assert.equal(listed.out.includes(secret), false, 'list never shows the secret');

      assert.equal((await cdr('cli-1')).status, 200);
      await srv.settle();
      assert.equal(rx.received.length, 0, 'paused: held');
      assert.equal((await callhook('destinations', 'resume', id)).code, 0);
      assert.equal((await destination(id)).state, 'active');
      await waitUntil(() => rx.received.length === 1, () => 'delivered once resumed');
      assert.doesNotThrow(() => verify(secret, rx.received[0] as Parameters<typeof verify>[1]));
      assert.equal(rx.received[0]?.headers['x-crm-key'], 'k1');

      assert.equal((await callhook('destinations', 'pause', id)).code, 0);
      assert.equal((await destination(id)).state, 'paused');
      assert.equal((await callhook('destinations', 'resume', id)).code, 0);

      const dry = await callhook('replay', '--destination', id, '--since', new Date(Date.now() - 60_000).toISOString(), '--dry-run');
      assert.equal(dry.code, 0, dry.out);
      assert.match(dry.out, /would send 1 deliveries to destination \d+\n {2}cdr\.inbound\.missed: 1/);
      const queued = async () => ((await (await srv.api(`/api/deliveries?destination=${id}`)).json()) as { items: Delivery[] }).items.length;
      assert.equal(await queued(), 1, 'a dry run queues nothing');
      const real = await callhook('replay', '--destination', id, '--since', new Date(Date.now() - 60_000).toISOString());
      assert.match(real.out, /queued 1 deliveries/);
      await waitUntil(() => rx.received.length === 2, () => 'the replay is delivered');
      assert.equal(rx.received[1]?.id, rx.received[0]?.id, 'with the same webhook-id');

      assert.equal((await callhook('destinations', 'remove', id)).code, 0);
      assert.equal((await srv.api(`/api/destinations/${id}`)).status, 404);
      const again = await callhook('destinations', 'remove', id);
      assert.equal(again.code, 1);
      assert.match(again.out, new RegExp(`no destination ${id}`));
    });

    // the checks do not depend on the dialect: once is enough
    if (dialect === 'sqlite') it('refuses bad input with a message that says what is wrong', async () => {
      const noKinds = await callhook('destinations', 'add', '--url', rx.url);
      assert.equal(noKinds.code, 2);
      assert.match(noKinds.out, /the destination is not valid: \/kinds/);
      const badUrl = await callhook('destinations', 'add', '--url', 'mailto:x@example.com', '--kinds', '*');
      assert.equal(badUrl.code, 2);
      assert.match(badUrl.out, /http or https/);
      const badFilter = await callhook('destinations', 'add', '--url', rx.url, '--kinds', '*', '--filter', 'team');
      assert.match(badFilter.out, /--filter takes FIELD=VALUE/);
      const badReplay = await callhook('replay', '--destination', '1', '--since', 'yesterday');
      assert.equal(badReplay.code, 2);
      assert.match(badReplay.out, /ISO 8601/);
      const unknown = await callhook('destinations', 'frobnicate');
      assert.match(unknown.out, /destinations takes list, add, pause, resume or remove, got "frobnicate"/);
    });
  });
}
