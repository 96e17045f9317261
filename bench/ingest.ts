/**
 * Ingest throughput: the vendor's Express example (stores nothing), bare node:http (the ceiling)
 * and callhook (durable, on a fresh database), each driven by a load generator in its own process
 * with the same load, one after the other in this one run. Prints requests/s, p50/p99 latency and
 * peak RSS of each server, and callhook's ratios against the other two.
 * BENCH_SECONDS sets the length of each run (default 10).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/process.js';

const seconds = process.env['BENCH_SECONDS'] ?? '10';
const connections = '50';
const root = join(import.meta.dirname, '..');

interface Target {
  name: string;
  args: string[];
  env?: Record<string, string>;
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

async function measure(target: Target, reconnect: boolean): Promise<Figures> {
  const port = await freePort();
  const scratch = mkdtempSync(join(tmpdir(), 'callhook-bench-'));
  const out = openSync(join(scratch, 'stdout.log'), 'w');
  const server: ChildProcess = spawn(process.execPath, target.args, {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', CALLHOOK_DATA_DIR: join(scratch, 'data'), ...target.env },
    stdio: ['ignore', out, out],
  });
  try {
    await waitReady(`http://127.0.0.1:${port}/`);
    const load = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench', 'load.ts'), `http://127.0.0.1:${port}`, connections, seconds, reconnect ? '1' : '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    load.stdout.on('data', (c: Buffer) => (text += c.toString()));
    await new Promise((r) => load.on('exit', r));
    const result = JSON.parse(text.trim().split('\n').pop() ?? '{}') as Omit<Figures, 'rssMb'>;
    return { ...result, rssMb: peakRssMb(server.pid as number) };
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.on('exit', r));
    rmSync(scratch, { recursive: true, force: true });
  }
}

const targets: Target[] = [
  { name: "vendor's Express example", args: [join(root, 'bench', 'servers', 'vendor-express.cjs')] },
  { name: 'bare node:http', args: [join(root, 'bench', 'servers', 'bare-node.mjs')] },
  {
    // the built server, as `npm start` runs it (npm run bench builds first)
    name: 'callhook, SQLite',
    args: [join(root, 'dist', 'cli', 'main.js'), 'serve'],
    env: { CALLHOOK_LOG_LEVEL: 'warn', CALLHOOK_API_TOKEN: 'bench-token-0123456789' },
  },
];

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
  const [vendor, bare, callhook] = targets.map((t) => figures.get(t.name) as Figures);
  console.log(`ratio callhook / vendor example: ${(callhook!.rps / vendor!.rps).toFixed(2)}; callhook / bare node:http: ${(callhook!.rps / bare!.rps).toFixed(2)}\n`);
}
