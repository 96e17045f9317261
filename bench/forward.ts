/**
 * Forwarding: deliveries per second from callhook to a local receiver (bench/servers/bare-node.mjs,
 * in a process of its own), and ingest throughput with two active destinations against the same
 * load without any, in this one run, on SQLite and on PostgreSQL (BENCH_DIALECTS=sqlite or postgres for
 * one). BENCH_SECONDS sets the length of each load (default 10). The three ingest loads run
 * BENCH_ROUNDS times (default 3), one after the other in each round, each round starting with the
 * next one: the machine's speed drifts between minutes, so each round's ratios compare
 * neighbouring loads, and the median round is given.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../test/helpers/process.js';
import { connections, measure, postgresReachable, root, seconds, waitReady, type Figures, type Target } from './harness.js';

const TOKEN = 'bench-token-0123456789';
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const callhook = { args: [join(root, 'dist', 'cli', 'main.js'), 'serve'], env: { CALLHOOK_LOG_LEVEL: 'warn', CALLHOOK_API_TOKEN: TOKEN, CALLHOOK_FORWARD_POLL_MS: '200' } };
/** What each destination takes: every event of every call (one delivery per webhook each). */
const KINDS = ['cdr.*', 'event.*'];

const api = async (base: string, path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST') => {
  const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<Record<string, unknown>>;
};

/** The sum of a metric's series whose labels match. */
async function metric(base: string, pattern: string): Promise<number> {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return [...(await res.text()).matchAll(new RegExp(`^${pattern} (\\d+)`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
}
const queueDepth = (base: string) => metric(base, 'callhook_forward_queue_depth\\{[^}]*\\}');
const succeeded = (base: string) => metric(base, 'callhook_forward_attempts_total\\{[^}]*outcome="succeeded"\\}');

async function startReceiver(): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [join(root, 'bench', 'servers', 'bare-node.mjs')], { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
  await waitReady(`http://127.0.0.1:${port}/`);
  return { url: `http://127.0.0.1:${port}/hook`, proc };
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const receivers = [await startReceiver(), await startReceiver()];
// BENCH_DIALECTS=sqlite or =postgres runs one of them
const only = process.env['BENCH_DIALECTS']?.split(',');
const dialects: { name: string; postgres: boolean }[] = [];
if (!only || only.includes('sqlite')) dialects.push({ name: 'SQLite', postgres: false });
if ((!only || only.includes('postgres')) && (await postgresReachable())) dialects.push({ name: 'PostgreSQL', postgres: true });

try {
  console.log(`forwarding: ${connections} connections, ${seconds} s per load, the simulator's payload mix; receivers are bare node:http\n`);
  console.log(`${'run'.padEnd(44)} ${'ingest req/s'.padStart(12)} ${'p99 ms'.padStart(7)} ${'deliveries/s'.padStart(13)} ${'left queued'.padStart(12)}`);
  for (const dialect of dialects) {
    // 1. a backlog built while the destination is paused, then delivered as fast as it goes
    let drained = { count: 0, seconds: 0 };
    const backlog: Target = {
      name: 'backlog',
      ...callhook,
      postgres: dialect.postgres,
      setup: async ([base]) => void (await api(base as string, '/api/destinations', { url: receivers[0]?.url, kinds: KINDS, state: 'paused' })),
      inspect: async ([base]) => {
        const b = base as string;
        const count = await queueDepth(b);
        const started = performance.now();
        await api(b, '/api/destinations/1', { state: 'active' }, 'PATCH');
        while ((await queueDepth(b)) > 0) await new Promise((r) => setTimeout(r, 100));
        drained = { count, seconds: (performance.now() - started) / 1000 };
      },
    };
    await measure(backlog, false);
    console.log(`${`${dialect.name}: ${fmt(drained.count)} queued, then delivered`.padEnd(44)} ${'-'.padStart(12)} ${'-'.padStart(7)} ${fmt(drained.count / drained.seconds).padStart(13)} ${'0'.padStart(12)}`);

    // 2. ingest without destinations, with two that only queue, and with two delivering meanwhile,
    // in rounds; each round starts with the next load, so that none is always the first or the
    // last of its round while the machine's speed drifts
    const row = (label: string, f: Figures, delivered: string, left: string) =>
      console.log(`${label.padEnd(44)} ${fmt(f.rps).padStart(12)} ${fmt(f.p99, 1).padStart(7)} ${delivered.padStart(13)} ${left.padStart(12)}`);
    const loads: { key: 'plain' | 'outbox' | 'sending'; run: (round: number) => Promise<number> }[] = [
      {
        key: 'plain',
        run: async (round) => {
          const plain = await measure({ name: 'plain', ...callhook, postgres: dialect.postgres }, false);
          row(`${dialect.name} ${round}: no destination`, plain, '-', '-');
          return plain.rps;
        },
      },
      {
        key: 'outbox',
        run: async (round) => {
          // the outbox alone: two destinations, deliveries queued in the ingest transaction, none sent
          const outboxOnly = await measure(
            {
              name: 'outbox only',
              ...callhook,
              env: { ...callhook.env, CALLHOOK_FORWARD: 'off' },
              postgres: dialect.postgres,
              setup: async ([base]) => {
                for (const r of receivers) await api(base as string, '/api/destinations', { url: r.url, kinds: KINDS });
              },
            },
            false,
          );
          row(`${dialect.name} ${round}: two destinations, not sending`, outboxOnly, '-', '-');
          return outboxOnly.rps;
        },
      },
      {
        key: 'sending',
        run: async (round) => {
          let left = 0;
          let delivered = 0;
          let started = 0;
          const forwarding: Figures = await measure(
            {
              name: 'two destinations',
              ...callhook,
              postgres: dialect.postgres,
              setup: async ([base]) => {
                for (const r of receivers) await api(base as string, '/api/destinations', { url: r.url, kinds: KINDS });
                started = performance.now();
              },
              inspect: async ([base]) => {
                const elapsed = (performance.now() - started) / 1000;
                left = await queueDepth(base as string);
                delivered = (await succeeded(base as string)) / elapsed;
              },
            },
            false,
          );
          row(`${dialect.name} ${round}: two active destinations`, forwarding, fmt(delivered), fmt(left));
          return forwarding.rps;
        },
      },
    ];
    const rounds: { sending: number; outbox: number }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const rps = { plain: 0, outbox: 0, sending: 0 };
      for (let i = 0; i < loads.length; i++) {
        const load = loads[(round - 1 + i) % loads.length] as (typeof loads)[number];
        rps[load.key] = await load.run(round);
      }
      rounds.push({ sending: rps.sending / rps.plain, outbox: rps.outbox / rps.plain });
    }
    const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
    const list = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
    const sending = rounds.map((r) => r.sending);
    const outbox = rounds.map((r) => r.outbox);
    console.log(`${dialect.name}: ingest with two destinations is ${median([...sending]).toFixed(2)} × without, median of ${ROUNDS} rounds (${list(sending)}); ${median([...outbox]).toFixed(2)} × while not sending (${list(outbox)})\n`);
  }
} finally {
  for (const r of receivers) r.proc.kill('SIGTERM');
}
