import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { SETTINGS } from '../../src/config.js';
import { generateDeliveries, sendDelivery } from '../../src/simulator/index.js';
import { DIALECTS, freshDatabase } from '../helpers/dialects.js';
import { start, stop } from '../helpers/process.js';
import { API_TOKEN, startTestServer, tempDir } from '../helpers/server.js';

const run = promisify(execFile);
const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

async function callhook(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', main, ...args], { env: { ...process.env, DATABASE_URL: '', ...env } });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe('callhook serve --help', () => {
  it('lists every setting with its environment variable and default', async () => {
    const { code, out } = await callhook(['serve', '--help']);
    assert.equal(code, 0);
    for (const s of SETTINGS) {
      assert.ok(out.includes(`--${s.flag}`), s.flag);
      assert.ok(out.includes(s.env), s.env);
      if (s.default !== undefined) assert.ok(out.includes(`(default: ${String(s.default)})`), `${s.env} default`);
    }
  });

  it('fails with a message that names a bad setting', async () => {
    const { code, out } = await callhook(['serve'], { PORT: 'http' });
    assert.equal(code, 2);
    assert.match(out, /PORT must be a whole number/);
    const unknown = await callhook(['serve', '--prot', '80']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.out, /Unknown option '--prot'/);
  });
});

for (const dialect of DIALECTS) {
  describe(`callhook migrate (${dialect})`, () => {
    it('lists with --dry-run, applies, then is up to date', async () => {
      const temp = tempDir();
      const db = dialect === 'postgres' ? await freshDatabase() : null;
      const env = { CALLHOOK_DATA_DIR: temp.dir, DATABASE_URL: db?.url ?? '' };
      try {
        const dry = await callhook(['migrate', '--dry-run'], env);
        assert.equal(dry.code, 0, dry.out);
        assert.match(dry.out, /would apply 001_receiver/);
        const again = await callhook(['migrate', '--dry-run'], env);
        assert.match(again.out, /would apply 001_receiver/, 'a dry run applies nothing');
        const applied = await callhook(['migrate'], env);
        assert.match(applied.out, /applied 001_receiver/);
        const done = await callhook(['migrate'], env);
        assert.match(done.out, /up to date/);
      } finally {
        temp.remove();
        await db?.drop();
      }
    });
  });
}

for (const dialect of DIALECTS) {
  describe(`callhook export and tail (${dialect})`, () => {
    it('export writes the calls and events of the database; tail follows the stream of a running server', async () => {
      const srv = await startTestServer(dialect);
      const tail = start(process.execPath, ['--import', 'tsx', main, 'tail', '--url', srv.url, '--token', API_TOKEN, '--kind', 'cdr.*'], { DATABASE_URL: '' });
      const tailJson = start(process.execPath, ['--import', 'tsx', main, 'tail', '--url', srv.url, '--token', API_TOKEN, '--json'], { DATABASE_URL: '' });
      try {
        await Promise.all([tail.waitFor('following '), tailJson.waitFor('following ')]);
        const { deliveries, calls } = generateDeliveries({ calls: 8, seed: 71, start: Date.now() - 10 * 60_000 });
        for (const d of deliveries) await sendDelivery(`${srv.url}/webhook`, d);
        await srv.settle();
        const cdrs = deliveries.filter((d) => d.payload['type'] === 'cdr').length;
        await tail.waitFor((out) => out.trim().split('\n').filter((l) => / cdr\./.test(l)).length >= cdrs);
        for (const line of tail.output().trim().split('\n').filter((l) => !l.startsWith('following '))) assert.match(line, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}cdr\.(inbound|outbound)\.(answered|missed)\s+\S+ -> \S+/, line);
        const jsonLines = () => tailJson.output().trim().split('\n').filter((l) => l.startsWith('{'));
        await tailJson.waitFor(() => jsonLines().length >= deliveries.length);
        const kinds = jsonLines().map((l) => (JSON.parse(l) as { kind: string }).kind);
        assert.ok(kinds.some((k) => k.startsWith('event.')) && kinds.some((k) => k.startsWith('cdr.')));

        const env = { CALLHOOK_DATA_DIR: srv.config.dataDir, DATABASE_URL: srv.config.databaseUrl ?? '' };
        const csv = await callhook(['export', '--calls', '--tz', 'Europe/Paris'], env);
        assert.equal(csv.code, 0, csv.out);
        const rows = csv.out.trim().split('\r\n');
        assert.match(rows[0] as string, /^id,platform,direction,status/);
        assert.equal(rows.length - 1, calls.length);
        assert.ok(rows.slice(1).every((r) => /\+01:00/.test(r)), 'times in Paris');
        const jsonl = await callhook(['export', '--events', '--format', 'jsonl', '--kind', 'cdr.inbound.missed'], env);
        const events = jsonl.out.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { kind: string });
        assert.ok(events.length > 0 && events.every((e) => e.kind === 'cdr.inbound.missed'));
        const bad = await callhook(['export', '--calls', '--events'], env);
        assert.equal(bad.code, 2);

        // callhook stats: the same figures as GET /api/stats, as a table or JSON
        const since = new Date(Date.now() - 3600_000).toISOString();
        const api = (await (await srv.api(`/api/stats?since=${since}&group_by=direction`)).json()) as { totals: { offered: number; outbound_attempts: number; cost: string } };
        const table = await callhook(['stats', '--since', since, '--group-by', 'direction'], env);
        assert.equal(table.code, 0, table.out);
        const total = table.out.split('\n').find((l) => l.startsWith('total')) ?? '';
        assert.equal(total.trim().split(/\s+/)[1], String(api.totals.offered), table.out);
        assert.ok(table.out.includes('inbound') && table.out.includes('outbound'));
        const json = await callhook(['stats', '--since', since, '--json'], env);
        const parsed = JSON.parse(json.out) as { totals: { offered: number; outbound_attempts: number; cost: string } };
        assert.deepEqual([parsed.totals.offered, parsed.totals.outbound_attempts, parsed.totals.cost], [api.totals.offered, api.totals.outbound_attempts, api.totals.cost]);
        assert.equal((await callhook(['stats', '--group-by', 'planet'], env)).code, 2);
      } finally {
        await stop(tail);
        await stop(tailJson);
        await srv.close();
      }
    });
  });
}
