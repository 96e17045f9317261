/**
 * Ingest throughput: the vendor's Express example (stores nothing), bare node:http (the ceiling)
 * and callhook (durable, on a fresh database: SQLite, then PostgreSQL with one and with two
 * instances), each driven by load generators in their own processes with the same load, one after
 * the other in this one run. Prints requests/s, p50/p99 latency and peak RSS of each server, and
 * callhook's ratios against the first two. BENCH_SECONDS sets the length of each run (default 10);
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) is where PostgreSQL
 * databases are made; without a PostgreSQL there, its rows are left out.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../test/helpers/process.js';

const seconds = process.env['BENCH_SECONDS'] ?? '10';
const connections = '50';
const root = join(import.meta.dirname, '..');

interface Target {
  name: string;
  args: string[];
  env?: Record<string, string>;
  /** Several instances share one fresh PostgreSQL database; the connections are split between them. */
  instances?: number;
  postgres?: boolean;
}

const adminUrl = process.env['BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function postgresReachable(): Promise<boolean> {
  try {
    await admin('SELECT 1');
    return true;
  } catch {
    return false;
  }
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
  rssMb: number;
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function waitReady(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${url} did not come up`);
}

function runLoad(url: string, conns: number, reconnect: boolean): Promise<Omit<Figures, 'rssMb'>> {
  const load = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench', 'load.ts'), url, String(conns), seconds, reconnect ? '1' : '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  load.stdout.on('data', (c: Buffer) => (text += c.toString()));
  return new Promise((resolve) => load.on('exit', () => resolve(JSON.parse(text.trim().split('\n').pop() ?? '{}') as Omit<Figures, 'rssMb'>)));
}

async function measure(target: Target, reconnect: boolean): Promise<Figures> {
  const instances = target.instances ?? 1;
  const scratch = mkdtempSync(join(tmpdir(), 'callhook-bench-'));
  const database = target.postgres ? `callhook_bench_${process.pid}_${Date.now()}` : null;
  if (database) await admin(`CREATE DATABASE ${database}`);
  const databaseUrl = database ? Object.assign(new URL(adminUrl), { pathname: `/${database}` }).toString() : '';
  const servers: { proc: ChildProcess; port: number }[] = [];
  try {
    for (let i = 0; i < instances; i++) {
      const port = await freePort();
      const out = openSync(join(scratch, `server-${i}.log`), 'w');
      const proc = spawn(process.execPath, target.args, {
        cwd: root,
        env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', CALLHOOK_DATA_DIR: join(scratch, 'data'), DATABASE_URL: databaseUrl, ...target.env },
        stdio: ['ignore', out, out],
      });
      servers.push({ proc, port });
      await waitReady(`http://127.0.0.1:${port}/`);
    }
    const results = await Promise.all(servers.map((s) => runLoad(`http://127.0.0.1:${s.port}`, Number(connections) / instances, reconnect)));
    return {
      rps: results.reduce((n, r) => n + r.rps, 0),
      p50: Math.max(...results.map((r) => r.p50)),
      p99: Math.max(...results.map((r) => r.p99)),
      total: results.reduce((n, r) => n + r.total, 0),
      non2xx: results.reduce((n, r) => n + r.non2xx, 0),
      rssMb: Math.max(...servers.map((s) => peakRssMb(s.proc.pid as number))),
    };
  } finally {
    for (const s of servers) s.proc.kill('SIGTERM');
    await Promise.all(servers.map((s) => new Promise((r) => (s.proc.exitCode === null ? s.proc.on('exit', r) : r(null)))));
    rmSync(scratch, { recursive: true, force: true });
    if (database) await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  }
}

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
