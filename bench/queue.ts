/**
 * The callback queue under a number that keeps missing: BENCH_MISSES missed calls (default 3,000,
 * five minutes apart) from one number that is never called back, against the same number of
 * missed calls from as many numbers (the baseline, in the same run), each load on a fresh
 * database and sent one webhook at a time. Prints, for each 500 in turn, the milliseconds per
 * acknowledgement and the callhook process's CPU per webhook, and how long the queue took to show
 * every miss after the last acknowledgement (on PostgreSQL calls are stitched after it), on SQLite
 * and PostgreSQL (BENCH_DIALECTS).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { admin, adminUrl, postgresReachable, root, waitReady } from './harness.js';
import { freePort } from '../test/helpers/process.js';

const MISSES = Number(process.env['BENCH_MISSES'] ?? 3000);
const STEP = 500;
const TOKEN = 'bench-token-0123456789';
const dialects = (process.env['BENCH_DIALECTS'] ?? 'sqlite,postgres').split(',');

/** User and system CPU of a process so far, in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function load(dialect: string, oneNumber: boolean): Promise<{ ackMs: number[]; cpuUs: number[]; catchUpS: number }> {
  const scratch = mkdtempSync(join(tmpdir(), 'callhook-bench-'));
  const database = dialect === 'postgres' ? `callhook_bench_${process.pid}_${Date.now()}` : null;
  if (database) await admin(`CREATE DATABASE ${database}`);
  const port = await freePort();
  const proc = spawn(process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'serve'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      CALLHOOK_DATA_DIR: join(scratch, 'data'),
      DATABASE_URL: database ? Object.assign(new URL(adminUrl), { pathname: `/${database}` }).toString() : '',
      CALLHOOK_LOG_LEVEL: 'warn',
      CALLHOOK_API_TOKEN: TOKEN,
    },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(`${url}/healthz`);
    const start = Date.now() - 30 * 86_400_000;
    const ackMs: number[] = [];
    const cpuUs: number[] = [];
    let t0 = performance.now();
    let c0 = cpuMs(proc.pid as number);
    for (let i = 0; i < MISSES; i++) {
      const id = randomUUID();
      const from = oneNumber ? 447000000777 : 447100000000 + i;
      const body = { appid: 2222223, type: 'cdr', direction: 'inbound', cmiuuid: id, conversation_uuid: id, status: 'missed', from, virtual_number: 440000000000, time: start + i * 300_000, waitedsec: 30, hangup_reason: 'recv_bye', team: 'Sales_2222223', ivr_name: 'salesivr' };
      const res = await fetch(`${url}/webhook/cdr`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
      await res.arrayBuffer();
      if ((i + 1) % STEP === 0) {
        const c1 = cpuMs(proc.pid as number);
        ackMs.push((performance.now() - t0) / STEP);
        cpuUs.push(((c1 - c0) * 1000) / STEP);
        t0 = performance.now();
        c0 = c1;
      }
    }
    // the last miss in the queue: one item with every attempt, or an item of its own
    const caughtUp = performance.now();
    const lastStart = new Date(start + (MISSES - 1) * 300_000 - 30_000).toISOString();
    for (;;) {
      const res = await fetch(`${url}/api/missed?state=open&limit=1${oneNumber ? '' : `&since=${lastStart}`}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const first = ((await res.json()) as { items: { attempts: number }[] }).items[0];
      if ((first?.attempts ?? 0) === (oneNumber ? MISSES : 1)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return { ackMs, cpuUs, catchUpS: (performance.now() - caughtUp) / 1000 };
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => (proc.exitCode === null ? proc.on('exit', r) : r(null)));
    rmSync(scratch, { recursive: true, force: true });
    if (database) await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  }
}

const list = (xs: number[], d = 1) => xs.map((x) => x.toFixed(d)).join(' ');
console.log(`callback queue: ${MISSES.toLocaleString('en-US')} missed calls sent one at a time; figures for each ${STEP} in turn\n`);
for (const dialect of dialects) {
  if (dialect === 'postgres' && !(await postgresReachable())) {
    console.log(`(no PostgreSQL at ${new URL(adminUrl).host}: its rows are left out)`);
    continue;
  }
  const base = await load(dialect, false);
  const one = await load(dialect, true);
  for (const [name, f] of [['each from a new number', base], ['all from one number', one]] as const) {
    console.log(`${dialect}, ${name}: ms per acknowledgement ${list(f.ackMs)}; callhook CPU µs per webhook ${list(f.cpuUs, 0)}; queue complete ${f.catchUpS.toFixed(1)} s after the last`);
  }
  const last = (xs: number[]) => xs[xs.length - 1] as number;
  console.log(`${dialect}: the last ${STEP} from one number ÷ from new numbers: ${(last(one.ackMs) / last(base.ackMs)).toFixed(2)} × the acknowledgement time, ${(last(one.cpuUs) / last(base.cpuUs)).toFixed(2)} × the CPU\n`);
}
