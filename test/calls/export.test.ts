import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { csvCell, timeIn } from '../../src/api/export.js';
import type { Call } from '../../src/calls/call-schema.js';
import { generateDeliveries, sendDelivery } from '../../src/simulator/index.js';
import { DIALECTS } from '../helpers/dialects.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { postJson, startTestServer, type TestServer } from '../helpers/server.js';

/** RFC 4180, enough to read back what the export wrote. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  return rows;
}

describe('export formatting', () => {
  it('writes times in the zone asked for, daylight saving included', () => {
    assert.equal(timeIn('2026-07-01T12:00:00.000Z', 'America/New_York'), '2026-07-01T08:00:00.000-04:00');
    assert.equal(timeIn('2026-01-15T12:00:00.000Z', 'America/New_York'), '2026-01-15T07:00:00.000-05:00');
    assert.equal(timeIn('2026-03-08T06:59:59.000Z', 'America/New_York'), '2026-03-08T01:59:59.000-05:00');
    assert.equal(timeIn('2026-03-08T07:00:00.000Z', 'America/New_York'), '2026-03-08T03:00:00.000-04:00');
    assert.equal(timeIn('2026-11-21T09:00:00.250Z', 'Asia/Kolkata'), '2026-11-21T14:30:00.250+05:30');
    assert.equal(timeIn('2026-11-21T09:00:00.000Z', 'Europe/London'), '2026-11-21T09:00:00.000+00:00');
  });

  it('neutralises every cell a spreadsheet would run as a formula, and quotes what needs it', () => {
    for (const bad of ['=1+1', '+44', '-2', '@SUM(A1)', '\tx', '\rx']) assert.ok(parseCsv(`${csvCell(bad)}\r\n`)[0]?.[0]?.startsWith("'"), JSON.stringify(bad));
    assert.equal(csvCell('a,"b"'), '"a,""b"""');
    assert.equal(csvCell('4470'), '4470');
    assert.equal(csvCell(null), '');
  });
});

for (const dialect of DIALECTS) {
  describe(`exports (${dialect})`, () => {
    let srv: TestServer;
    const { deliveries, calls } = generateDeliveries({ calls: 30, seed: 61, start: Date.now() - 30 * 60_000 });
    const hostile = { '=': '=HYPERLINK("http://evil")', '+': '+44 7700 900', '-': '-1+2', '@': '@SUM(A1:A9)', tab: '\tcmd', cr: '\rcmd' };
    before(async () => {
      srv = await startTestServer(dialect);
      for (const d of deliveries) await sendDelivery(`${srv.url}/webhook`, d);
      const cdr = loadFixtures().find((f) => f.name === 'telecmi/cdr-inbound-missed')!.payload;
      for (const [name, value] of Object.entries(hostile)) {
        await postJson(`${srv.url}/webhook`, { ...cdr, cmiuuid: `hostile-${name}`, conversation_uuid: `hostile-${name}`, team: value, ivr_name: value, from: value, time: Date.now() - 60_000 });
      }
      await srv.settle();
    });
    after(async () => srv?.close());

    it('exports every call as CSV with a header row, times in the zone asked for', async () => {
      const res = await srv.api('/api/calls/export?format=csv&tz=Asia/Kolkata');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/csv/);
      const rows = parseCsv(await res.text());
      const header = rows[0] as string[];
      assert.deepEqual(header.slice(0, 4), ['id', 'platform', 'direction', 'status']);
      assert.equal(rows.length - 1, calls.length + Object.keys(hostile).length);
      const api = (await (await srv.api('/api/calls?limit=500')).json()) as { items: Call[] };
      const started = header.indexOf('started_at');
      for (const row of rows.slice(1)) {
        const call = api.items.find((c) => c.id === row[0]) as Call;
        assert.ok(call, row[0]);
        assert.match(row[started] as string, /\+05:30$/);
        assert.equal(Date.parse(row[started] as string), Date.parse(call.started_at as string));
      }
    });

    it('neutralises formula cells from platform fields', async () => {
      const rows = parseCsv(await (await srv.api('/api/calls/export')).text());
      const header = rows[0] as string[];
      for (const name of Object.keys(hostile)) {
        const row = rows.find((r) => r[0] === `telecmi:hostile-${name}`) as string[];
        for (const column of ['team', 'ivr_name', 'from']) {
          const cell = row[header.indexOf(column)] as string;
          // tabs and carriage returns are trimmed off by the normalizer already; the rest are kept, neutralised
          assert.doesNotMatch(cell, /^[=+\-@\t\r]/, `${name} ${column}: ${JSON.stringify(cell)}`);
          if (!['tab', 'cr'].includes(name)) assert.equal(cell, `'${hostile[name as keyof typeof hostile]}`);
        }
      }
      for (const row of rows) for (const cell of row) assert.doesNotMatch(cell, /^[=+\-@\t\r]/);
    });

    it('exports JSON lines with the same filters as the list', async () => {
      const text = await (await srv.api('/api/calls/export?format=jsonl&direction=outbound')).text();
      const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Call);
      assert.ok(lines.length > 0);
      assert.ok(lines.every((c) => c.direction === 'outbound'));
      assert.equal(lines.length, calls.filter((c) => c.direction === 'outbound').length);
      const events = (await (await srv.api('/api/events/export?format=jsonl&kind=cdr.inbound.missed')).text()).trim().split('\n');
      assert.ok(events.every((l) => (JSON.parse(l) as { kind: string }).kind === 'cdr.inbound.missed'));
      const csv = parseCsv(await (await srv.api('/api/events/export')).text());
      assert.equal(csv.length - 1, deliveries.length + Object.keys(hostile).length);
    });

    it('refuses a time zone that does not exist', async () => {
      const res = await srv.api('/api/calls/export?tz=Mars/Olympus');
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'invalid_time_zone');
    });
  });
}

describe('the API reference', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer('sqlite');
  });
  after(async () => srv?.close());

  it('is an OpenAPI 3 document made from the routes, each declaring its responses, browsable at /docs', async () => {
    const doc = (await (await fetch(`${srv.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, { content?: unknown }> }>> };
    assert.match(doc.openapi, /^3\./);
    for (const path of ['/api/events', '/api/events/{id}', '/api/requests', '/api/calls', '/api/calls/{id}', '/api/calls/export', '/api/events/export', '/api/live', '/api/stream', '/api/stream/ticket', '/webhook', '/healthz', '/metrics']) {
      assert.ok(doc.paths[path], path);
    }
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        const declared = Object.keys(op.responses);
        assert.ok(declared.some((code) => /^[2-4]\d\d$/.test(code) && op.responses[code]?.content), `${method} ${path} declares a response schema`);
      }
    }
    const page = await fetch(`${srv.url}/docs/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
  });
});
