/**
 * Ingest throughput: the vendor's Express example (stores nothing), bare node:http (the ceiling)
 * and callhook (durable, on a fresh database: SQLite, then PostgreSQL with one and with two
 * instances), each driven by load generators in their own processes with the same load, one after
 * the other in this one run. Prints requests/s, p50/p99 latency and peak RSS of each server, and
 * callhook's ratios against the first two. BENCH_SECONDS sets the length of each run (default 10);
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
for (const reconnect of [false, true]) {
  console.log(reconnect ? 'a new connection per request' : 'keep-alive');
  console.log(`${'server'.padEnd(28)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'peak RSS MB'.padStart(12)} ${'non-2xx'.padStart(8)}`);
  const figures = new Map<string, Figures>();
  for (const target of targets) {
    const f = await measure(target, reconnect);
    figures.set(target.name, f);
    console.log(`${target.name.padEnd(28)} ${fmt(f.rps).padStart(9)} ${fmt(f.p50, 1).padStart(7)} ${fmt(f.p99, 1).padStart(7)} ${fmt(f.rssMb).padStart(12)} ${String(f.non2xx).padStart(8)}`);
  }
  const vendor = figures.get(targets[0]!.name) as Figures;
  const bare = figures.get(targets[1]!.name) as Figures;
  for (const t of targets.slice(2)) {
    const f = figures.get(t.name) as Figures;
    console.log(`${t.name}: ${(f.rps / vendor.rps).toFixed(2)} × the vendor example, ${(f.rps / bare.rps).toFixed(2)} × bare node:http`);
  }
  console.log('');
}
