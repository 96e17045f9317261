/**
 * The calls API with BENCH_CALLS calls in the database (default 1,000,000), on SQLite and on
 * PostgreSQL (BENCH_DIALECTS=sqlite,postgres): a filtered page of /api/calls, /api/live, a call's detail, and the export of every
 * call (rows/s and the server's peak RSS), and dashboard page loads in Chromium. /healthz, which
 * only asks the database for SELECT 1, is timed in the same run as the floor each figure is
 * compared with; the dashboard's floor is its sign-in page. BENCH_DASHBOARD_ONLY=1 times the
 * dashboard alone.
 *
 * The calls are seeded straight into the tables (not over HTTP): realistic calls stitched from
 * the simulator's flows, copied with new ids and moved back in time 6 hours a copy (1,000,000 calls: four months); the newest copy
 * keeps its events, so that a call's detail has its timeline. The statistics rollups are built by
 * the server from the seeded calls, as after an upgrade; the time that takes is printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Call } from '../src/calls/call-schema.js';
import { deriveCall, resolveKeys } from '../src/calls/derive.js';
import { dedupKey, normalizePayload } from '../src/payloads/index.js';
import { generateDeliveries } from '../src/simulator/index.js';
import { deriveItems, queueNumber, type Membership, type MissedItem, type QueueCall } from '../src/calls/missed.js';
import { CALL_TABLE_COLUMNS, callColumns, pgCallArrays, SQLITE_CALL_VALUES } from '../src/store/rows.js';
import { migrateSqlite } from '../src/store/sqlite/migrate.js';
import { migrateStore } from '../src/store/index.js';
import type { Page } from 'playwright-core';
import { HAS_CHROMIUM, launchBrowser, waitForData } from '../test/helpers/browser.js';
import { freePort } from '../test/helpers/process.js';

const TOTAL = Number(process.env['BENCH_CALLS'] ?? 1_000_000);
const DIALECTS = (process.env['BENCH_DIALECTS'] ?? 'sqlite,postgres').split(',');
const TEMPLATE = 2000;
const adminUrl = process.env['BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const root = join(import.meta.dirname, '..');
const TOKEN = 'bench-token-0123456789';
const DAY = 86_400_000;

/** Realistic calls and their events, stitched the way the server does. */
function template() {
  const now = Date.now();
  // a third of the customers call or are called again: repeat callers and callbacks
  const { deliveries } = generateDeliveries({ calls: TEMPLATE, rate: TEMPLATE / (6 * 3600), seed: 77, start: now - 7 * 3600_000, returning: 0.35 });
  const events = new Map<string, ReturnType<typeof normalizePayload> & { id: string; dedup_key: string }>();
  for (const d of deliveries) {
    const e = normalizePayload(d.payload);
    const key = dedupKey(e);
    if (!events.has(key)) events.set(key, { ...e, id: String(events.size + 1), dedup_key: key });
  }
  const list = [...events.values()];
  const keys = resolveKeys(list.map(({ raw: _raw, ...e }) => ({ ...e, redeliveries: 0 })));
  const byCall = new Map<string, typeof list>();
  for (const e of list) {
    const k = keys.get(e.id);
    if (k) byCall.set(k, [...(byCall.get(k) ?? []), e]);
  }
  const calls = [...byCall.entries()].map(([k, evs]) => deriveCall(k, evs.map(({ raw: _raw, ...e }) => e)));
  // a few calls live right now, for /api/live
  for (const c of calls.slice(-40)) Object.assign(c, { status: c.direction === 'inbound' ? 'waiting' : 'in_progress', provisional: true, started_at: new Date(now - 60_000).toISOString() });
  return { calls, events: list, keys };
}

/** Copy `r` of a call: new id, and moved back in time by r × 6 hours (the newest copy is r = 0). */
function copy(call: Call, r: number): Call {
  if (r === 0) return call;
  const shift = (t: string | null) => (t === null ? null : new Date(Date.parse(t) - r * DAY / 4).toISOString());
  const live = ['waiting', 'ringing', 'in_progress'].includes(call.status);
  // each round's customers are others: the same digits with the round in place of three of them
  const customer = (n: string | null) => (n === null || n.length < 10 ? n : `${n.slice(0, 2)}${String(r % 1000).padStart(3, '0')}${n.slice(5)}`);
  const inbound = call.direction === 'inbound';
  return {
    ...call, id: `${call.id}-${r}`, status: live ? 'ended' : call.status, from: inbound ? customer(call.from) : call.from, to: inbound ? call.to : customer(call.to),
    started_at: shift(call.started_at), answered_at: shift(call.answered_at), ended_at: shift(call.ended_at), last_event_at: shift(call.last_event_at),
  };
}

/** The callback queue of one round's calls, derived as the server does, per customer number. */
function queue(calls: Call[]): { items: MissedItem[]; members: Membership[] } {
  const byNumber = new Map<string, QueueCall[]>();
  for (const c of calls) {
    const n = queueNumber(c);
    if (n !== null && c.started_at !== null) byNumber.set(n, [...(byNumber.get(n) ?? []), { ...c, started_at: c.started_at }]);
  }
  const items: MissedItem[] = [];
  const members: Membership[] = [];
  for (const [n, list] of byNumber) {
    const d = deriveItems(n, list, [], '');
    items.push(...d.items);
    members.push(...d.members);
  }
  return { items, members };
}

async function seedSqlite(dir: string, t: ReturnType<typeof template>): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, 'callhook.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  migrateSqlite(db);
  const insertCall = db.prepare(`INSERT INTO calls (${CALL_TABLE_COLUMNS.map(([n]) => n).join(', ')}) ${SQLITE_CALL_VALUES}`);
  const insertItem = db.prepare(`INSERT INTO missed_items (id, number, first_missed_at, last_missed_at, attempts, voicemail, team, ivr_name, state, resolved_at, resolved_by, note, time_to_callback_sec, call_ids)
    VALUES (@id, @number, @first_missed_at, @last_missed_at, @attempts, @voicemail, @team, @ivr_name, @state, @resolved_at, @resolved_by, @note, @time_to_callback_sec, @call_ids)`);
  const insertMember = db.prepare('INSERT INTO missed_calls (call_id, item_id, number, callback_sec) VALUES (@call_id, @item_id, @number, @callback_sec)');
  const insertEvent = db.prepare(`INSERT INTO events (id, dedup_key, received_at, platform, kind, call_uuid, conversation_uuid, call_key, stream_seq, data, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const rounds = Math.ceil(TOTAL / t.calls.length);
  const batch = db.transaction((r: number) => {
    const calls = t.calls.map((c) => copy(c, r));
    for (const c of calls) insertCall.run(callColumns(c, (b) => (b ? 1 : 0)));
    const { items, members } = queue(calls);
    for (const i of items) insertItem.run({ ...i, call_ids: JSON.stringify(i.call_ids) });
    for (const m of members) insertMember.run(m);
  });
  for (let r = 0; r < rounds; r++) batch(r);
  db.transaction(() => {
    for (const e of t.events) {
      const { raw, ...data } = e;
      insertEvent.run(Number(e.id), e.dedup_key, new Date().toISOString(), e.platform, e.kind, e.call_uuid, e.conversation_uuid, t.keys.get(e.id) ?? null, Number(e.id), JSON.stringify(data), JSON.stringify(raw));
    }
  })();
  db.close();
}

async function seedPostgres(url: string, t: ReturnType<typeof template>): Promise<void> {
  await migrateStore({ dataDir: '', databaseUrl: url }, { dryRun: false });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const rounds = Math.ceil(TOTAL / t.calls.length);
    for (let r = 0; r < rounds; r++) {
      const calls = t.calls.map((c) => copy(c, r));
      const { sql, params } = pgCallArrays(calls);
      await client.query(`INSERT INTO calls (${CALL_TABLE_COLUMNS.map(([n]) => n).join(', ')}) ${sql}`, params);
      const { items, members } = queue(calls);
      await client.query(
        `INSERT INTO missed_items (id, number, first_missed_at, last_missed_at, attempts, voicemail, team, ivr_name, state, resolved_at, resolved_by, note, time_to_callback_sec, call_ids)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::int[], $14::text[])`,
        [items.map((i) => i.id), items.map((i) => i.number), items.map((i) => i.first_missed_at), items.map((i) => i.last_missed_at), items.map((i) => i.attempts), items.map((i) => i.voicemail), items.map((i) => i.team),
          items.map((i) => i.ivr_name), items.map((i) => i.state), items.map((i) => i.resolved_at), items.map((i) => i.resolved_by), items.map((i) => i.note), items.map((i) => i.time_to_callback_sec), items.map((i) => JSON.stringify(i.call_ids))],
      );
      await client.query('INSERT INTO missed_calls (call_id, item_id, number, callback_sec) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])', [
        members.map((m) => m.call_id), members.map((m) => m.item_id), members.map((m) => m.number), members.map((m) => m.callback_sec),
      ]);
    }
    const ev = t.events;
    await client.query(
      `INSERT INTO events (id, dedup_key, received_at, platform, kind, call_uuid, conversation_uuid, call_key, stream_seq, data, raw)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[], $11::text[])`,
      [ev.map((e) => e.id), ev.map((e) => e.dedup_key), ev.map(() => new Date().toISOString()), ev.map((e) => e.platform), ev.map((e) => e.kind), ev.map((e) => e.call_uuid), ev.map((e) => e.conversation_uuid), ev.map((e) => t.keys.get(e.id) ?? null), ev.map((e) => e.id), ev.map(({ raw: _raw, ...d }) => JSON.stringify(d)), ev.map((e) => JSON.stringify(e.raw))],
    );
    await client.query(`SELECT setval('callhook_ids', $1)`, [ev.length + 1]);
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
}

async function timed(url: string, samples = 30): Promise<{ p50: number; p95: number }> {
  const times: number[] = [];
  for (let i = 0; i < samples + 5; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
    if (i >= 5) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length / 2)] as number, p95: times[Math.floor(times.length * 0.95)] as number };
}

/**
 * Dashboard page loads in Chromium, signed in: from navigation to the page's data on screen (no
 * "Loading…" left), a full load each time with the browser's cache warm, as a returning user has
 * it. The floor is the sign-in page, which fetches one tiny JSON.
 */
async function dashboardLoads(base: string): Promise<void> {
  if (!HAS_CHROMIUM) {
    console.log('dashboard page loads: skipped (no Chromium at /usr/bin/chromium)');
    return;
  }
  const browser = await launchBrowser();
  try {
    const anonymous = await browser.newPage();
    const load = async (page: Page, hash: string, ready: () => Promise<unknown>) => {
      const times: number[] = [];
      for (let i = 0; i < 6; i++) {
        await page.goto('about:blank');
        const t0 = performance.now();
        await page.goto(`${base}/${hash}`);
        await ready();
        if (i > 0) times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      return { p50: times[2] as number, max: times[4] as number };
    };
    const floor = await load(anonymous, '', () => anonymous.getByLabel('API token').waitFor());
    await anonymous.getByLabel('API token').fill(TOKEN);
    await anonymous.getByRole('button', { name: 'Sign in' }).click();
    await anonymous.getByRole('navigation', { name: 'Pages' }).waitFor();
    const page = anonymous;
    // a page is loaded when what it shows from the API is on screen, each page its own
    const ready: Record<string, string[]> = {
      '#/live': ['#fig-answered .figure-value:not(:text-is("—"))'],
      '#/calls': ['table[aria-label="Calls"] tbody tr'],
      '#/missed': ['table[aria-label="Callback queue"] tbody tr'],
      '#/ingest': ['#last-event time'],
      '#/destinations': ['main h2'],
      '#/alerts': ['main h1'],
      '#/stats': ['#stat-offered', 'table[aria-label="Figures per agent"] tbody tr', 'table.heatmap', '.chart canvas'],
    };
    const loaded = (hash: string) => async () => {
      for (const selector of ready[hash] ?? []) await page.locator(selector).first().waitFor({ timeout: 120_000 });
      await waitForData(page, 120_000);
    };
    console.log(`${'dashboard page (Chromium)'.padEnd(40)} ${'p50 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'target'.padStart(8)} ${'× floor'.padStart(8)}`);
    const show = (label: string, f: { p50: number; max: number }, target: string) =>
      console.log(`${label.padEnd(40)} ${f.p50.toFixed(0).padStart(8)} ${f.max.toFixed(0).padStart(8)} ${target.padStart(8)} ${(f.p50 / floor.p50).toFixed(1).padStart(8)}`);
    show('sign-in page (the floor)', floor, '');
    for (const hash of Object.keys(ready)) show(hash, await load(page, hash, loaded(hash)), '< 1000');
  } finally {
    await browser.close();
  }
}

async function run(name: string, env: Record<string, string>, seed: () => Promise<void>, t: ReturnType<typeof template>): Promise<void> {
  const s0 = performance.now();
  await seed();
  console.log(`\n${name}: ${TOTAL.toLocaleString('en-US')} calls seeded in ${((performance.now() - s0) / 1000).toFixed(0)} s`);
  const port = await freePort();
  const server: ChildProcess = spawn(process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'serve'], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), CALLHOOK_API_TOKEN: TOKEN, CALLHOOK_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; i < 400; i++) {
      try {
        if ((await fetch(`${base}/healthz`)).ok) break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    if (process.env['BENCH_DASHBOARD_ONLY']) {
      await dashboardLoads(base);
      return;
    }
    // the first statistics request waits for the rollups of every seeded call (started with the server)
    const r0 = performance.now();
    await (await fetch(`${base}/api/stats?group_by=team`, { headers: { authorization: `Bearer ${TOKEN}` } })).arrayBuffer();
    console.log(`statistics rollups of all ${TOTAL.toLocaleString('en-US')} calls ready ${((performance.now() - r0) / 1000).toFixed(1)} s after start`);
    const withEvents = t.calls.slice(0, 30).map((c) => c.id);
    const sample = t.calls.find((c) => c.team && c.from) as Call;
    const floor = await timed(`${base}/healthz`);
    const month = new Date(Date.now() - 30 * DAY).toISOString();
    const rows: [string, string, number, { p50: number; p95: number }][] = [
      ['/healthz (the floor)', `${base}/healthz`, Infinity, floor],
      ['/api/calls?status=missed&team=…', `${base}/api/calls?status=missed&team=${sample.team}&limit=50`, 20, { p50: 0, p95: 0 }],
      ['/api/calls?number=<prefix>', `${base}/api/calls?number=${(sample.from as string).slice(0, 8)}&limit=50`, 20, { p50: 0, p95: 0 }],
      ['/api/calls?direction=&since=&until=', `${base}/api/calls?direction=outbound&since=${new Date(Date.now() - 60 * DAY).toISOString()}&until=${new Date(Date.now() - 30 * DAY).toISOString()}&limit=50`, 20, { p50: 0, p95: 0 }],
      ['/api/live', `${base}/api/live`, 5, { p50: 0, p95: 0 }],
      ['/api/stats 30 days by team', `${base}/api/stats?since=${month}&group_by=team&tz=Asia/Kolkata`, 150, { p50: 0, p95: 0 }],
      ['/api/stats 30 days by hour', `${base}/api/stats?since=${month}&group_by=hour&tz=America/New_York`, 150, { p50: 0, p95: 0 }],
      ['/api/stats/heatmap 30 days', `${base}/api/stats/heatmap?since=${month}&tz=Asia/Kolkata`, 150, { p50: 0, p95: 0 }],
      ['/api/missed?state=open', `${base}/api/missed?state=open`, 20, { p50: 0, p95: 0 }],
      ['/api/missed?state=open&team=…', `${base}/api/missed?state=open&team=${sample.team}`, 20, { p50: 0, p95: 0 }],
    ];
    for (const row of rows.slice(1)) row[3] = await timed(row[1]);
    const details: number[] = [];
    for (const id of withEvents) {
      const t0 = performance.now();
      await (await fetch(`${base}/api/calls/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${TOKEN}` } })).arrayBuffer();
      details.push(performance.now() - t0);
    }
    details.sort((a, b) => a - b);
    rows.push(['/api/calls/:id', '', 5, { p50: details[15] as number, p95: details[28] as number }]);
    console.log(`${'request'.padEnd(40)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'target'.padStart(8)} ${'× floor'.padStart(8)}`);
    for (const [label, , target, f] of rows) {
      console.log(`${label.padEnd(40)} ${f.p50.toFixed(1).padStart(8)} ${f.p95.toFixed(1).padStart(8)} ${(target === Infinity ? '' : `≤ ${target}`).padStart(8)} ${(f.p50 / floor.p50).toFixed(1).padStart(8)}`);
    }
    const t0 = performance.now();
    const res = await fetch(`${base}/api/calls/export?format=csv`, { headers: { authorization: `Bearer ${TOKEN}` } });
    let lines = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) for (const b of chunk) if (b === 10) lines++;
    const seconds = (performance.now() - t0) / 1000;
    const rss = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    console.log(`export of all calls: ${(lines - 1).toLocaleString('en-US')} rows in ${seconds.toFixed(1)} s = ${Math.round((lines - 1) / seconds).toLocaleString('en-US')} rows/s (target ≥ 100,000); server peak RSS ${rss.toFixed(0)} MB (target ≤ 250)`);
    await dashboardLoads(base);
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.on('exit', r));
  }
}

const t = template();
console.log(`calls API: ${TOTAL.toLocaleString('en-US')} calls (from ${t.calls.length} stitched templates, ${t.events.length} events kept for details)`);
const dir = mkdtempSync(join(tmpdir(), 'callhook-bench-calls-'));
try {
  if (DIALECTS.includes('sqlite')) await run('SQLite', { CALLHOOK_DATA_DIR: join(dir, 'data'), DATABASE_URL: '' }, () => seedSqlite(join(dir, 'data'), t), t);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (!DIALECTS.includes('postgres')) process.exit(0);
const admin = new pg.Client({ connectionString: adminUrl });
try {
  await admin.connect();
} catch {
  console.log(`\n(no PostgreSQL at ${new URL(adminUrl).host}: its rows are left out)`);
  process.exit(0);
}
const name = `callhook_bench_calls_${process.pid}`;
await admin.query(`CREATE DATABASE ${name}`);
const url = Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
try {
  await run('PostgreSQL', { DATABASE_URL: url }, () => seedPostgres(url, t), t);
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
