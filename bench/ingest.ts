/**
 * Ingest throughput: the vendor's Express example (stores nothing), bare node:http (the ceiling)
 * and callhook (durable, on a fresh database: SQLite, then PostgreSQL with one and with two
 * instances), each driven by load generators in their own processes with the same load, one after
 * the other in this one run. Prints requests/s, p50/p99 latency and peak RSS of each server, and
 * callhook's ratios against the first two. The machine's speed drifts between minutes, so the
 * keep-alive loads run in BENCH_ROUNDS rounds (default 3), each server once per round, and each
 * ratio is the median of the rounds' ratios, which compare neighbouring loads; the run with a new
 * connection per request, bound by connection set-up on loopback, runs once.
 * BENCH_SECONDS sets the length of each run (default 10);
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) is where PostgreSQL
 * databases are made; without a PostgreSQL there, its rows are left out.
 */
import { join } from 'node:path';
import { connections, measure, postgresReachable, root, seconds, adminUrl, type Figures, type Target } from './harness.js';

// callhook runs built, as `npm start` runs it (npm run bench builds first)
const callhook = { args: [join(root, 'dist', 'cli', 'main.js'), 'serve'], env: { CALLHOOK_LOG_LEVEL: 'warn', CALLHOOK_API_TOKEN: 'bench-token-0123456789' } };
const targets: Target[] = [
  { name: "vendor's Express example", args: [join(root, 'bench', 'servers', 'vendor-express.cjs')] },
  { name: 'bare node:http', args: [join(root, 'bench', 'servers', 'bare-node.mjs')] },
  { name: 'callhook, SQLite', ...callhook },
];
if (await postgresReachable()) {
  targets.push({ name: 'callhook, PostgreSQL', ...callhook, postgres: true });
  targets.push({ name: 'callhook, PostgreSQL ×2', ...callhook, postgres: true, instances: 2 });
} else {
  console.log(`(no PostgreSQL at ${new URL(adminUrl).host}: its rows are left out)\n`);
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
console.log(`ingest: ${connections} connections, ${seconds} s per run, the simulator's payload mix with unique ids\n`);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
for (const reconnect of [false, true]) {
  const rounds = reconnect ? 1 : ROUNDS;
  console.log(reconnect ? 'a new connection per request' : `keep-alive, ${rounds} round${rounds === 1 ? '' : 's'}`);
  console.log(`${'server'.padEnd(32)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'peak RSS MB'.padStart(12)} ${'non-2xx'.padStart(8)}`);
  const figures = new Map<string, Figures[]>();
  for (let round = 1; round <= rounds; round++) {
    for (const target of targets) {
      const f = await measure(target, reconnect);
      figures.set(target.name, [...(figures.get(target.name) ?? []), f]);
      const name = rounds === 1 ? target.name : `${round}: ${target.name}`;
      console.log(`${name.padEnd(32)} ${fmt(f.rps).padStart(9)} ${fmt(f.p50, 1).padStart(7)} ${fmt(f.p99, 1).padStart(7)} ${fmt(f.rssMb).padStart(12)} ${String(f.non2xx).padStart(8)}`);
    }
  }
  const vendor = figures.get(targets[0]!.name) as Figures[];
  const bare = figures.get(targets[1]!.name) as Figures[];
  for (const t of targets.slice(2)) {
    const f = figures.get(t.name) as Figures[];
    const ratios = (base: Figures[]) => f.map((x, i) => x.rps / (base[i] as Figures).rps);
    const list = (xs: number[]) => (xs.length === 1 ? '' : ` (${xs.map((x) => x.toFixed(2)).join(', ')})`);
    const peak = Math.max(...f.map((x) => x.rssMb));
    console.log(`${t.name}: ${median(ratios(vendor)).toFixed(2)} × the vendor example${list(ratios(vendor))}, ${median(ratios(bare)).toFixed(2)} × bare node:http${list(ratios(bare))}; peak RSS ${fmt(peak)} MB`);
  }
  console.log('');
}
