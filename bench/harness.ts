/**
 * What the benchmarks share: servers started in processes of their own on fresh databases, and
 * load generators (bench/load.ts) in processes of their own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../test/helpers/process.js';

export const seconds = process.env['BENCH_SECONDS'] ?? '10';
export const connections = '50';
export const root = join(import.meta.dirname, '..');

export interface Target {
  name: string;
  args: string[];
  env?: Record<string, string>;
  /** Several instances share one fresh PostgreSQL database; the connections are split between them. */
  instances?: number;
  postgres?: boolean;
  /** Runs once the servers answer, before the load (their base URLs). */
  setup?: (urls: string[]) => Promise<void>;
  /** Runs after the load, before the servers stop. */
  inspect?: (urls: string[]) => Promise<void>;
}

export const adminUrl = process.env['BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function postgresReachable(): Promise<boolean> {
  try {
    await admin('SELECT 1');
    return true;
  } catch {
    return false;
  }
}

export interface Figures {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
  rssMb: number;
}

export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

export async function waitReady(url: string): Promise<void> {
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

export function runLoad(url: string, conns: number, reconnect: boolean): Promise<Omit<Figures, 'rssMb'>> {
  const load = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench', 'load.ts'), url, String(conns), seconds, reconnect ? '1' : '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  load.stdout.on('data', (c: Buffer) => (text += c.toString()));
  return new Promise((resolve) => load.on('exit', () => resolve(JSON.parse(text.trim().split('\n').pop() ?? '{}') as Omit<Figures, 'rssMb'>)));
}

export async function measure(target: Target, reconnect: boolean): Promise<Figures> {
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
    const urls = servers.map((s) => `http://127.0.0.1:${s.port}`);
    await target.setup?.(urls);
    // each PostgreSQL load starts on a fresh checkpoint, so that none pays for the WAL of the one before
    if (database) await admin('CHECKPOINT');
    const results = await Promise.all(urls.map((url) => runLoad(url, Number(connections) / instances, reconnect)));
    await target.inspect?.(urls);
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

