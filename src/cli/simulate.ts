import { CHAOS_KINDS, generateDeliveries, simulate, type Chaos } from '../simulator/index.js';

export const simulateHelp = `callhook simulate: send realistic TeleCMI and PIOPIY call flows to a webhook URL

Usage: callhook simulate --url <webhook url> [--calls N] [--rate R] [--seed S] [--start ISO]
                         [--chaos dup,reorder,drop-cdr] [--returning P] [--speed X] [--concurrency C] [--dry-run]

  --url          the webhook base URL, e.g. http://localhost:5000/webhook?token=s3cret
  --calls        how many calls (default 20)
  --rate         mean call arrivals per second of the simulated timeline (default 0.2)
  --seed         the same seed (and --start) gives the same deliveries (default 1)
  --start        time of the first call, ISO 8601 (default now)
  --chaos        dup: the platform's redeliveries; reorder: deliveries out of order; drop-cdr: lost CDRs
  --returning    chance (0-1) that a call's customer called or was called before (default 0)
  --speed        0 sends as fast as possible (default); N paces at N times real time
  --concurrency  requests in flight at once (default 8)
  --dry-run      print the deliveries as JSON lines instead of sending them

Example:
  callhook simulate --url http://localhost:5000/webhook --calls 50 --chaos dup,reorder`;

function number(args: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = args[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got "${raw}"`);
  return n;
}

export async function runSimulate(args: Record<string, string | undefined>, dryRun: boolean): Promise<number> {
  const chaos = (args['chaos'] ?? '').split(',').map((c) => c.trim()).filter((c) => c !== '');
  for (const c of chaos) if (!CHAOS_KINDS.includes(c as Chaos)) throw new Error(`--chaos takes ${CHAOS_KINDS.join(', ')}; got "${c}"`);
  const start = args['start'] === undefined ? Math.floor(Date.now() / 1000) * 1000 : Date.parse(args['start']);
  if (Number.isNaN(start)) throw new Error(`--start must be an ISO 8601 time, got "${args['start']}"`);
  const options = {
    calls: number(args, 'calls', 20),
    rate: number(args, 'rate', 0.2) || 0.2,
    seed: number(args, 'seed', 1),
    chaos: chaos as Chaos[],
    start,
    returning: Math.min(1, number(args, 'returning', 0)),
  };
  if (dryRun) {
    for (const d of generateDeliveries(options).deliveries) process.stdout.write(`${JSON.stringify(d)}\n`);
    return 0;
  }
  const url = args['url'];
  if (!url) throw new Error('--url is required (or --dry-run): the webhook URL, e.g. http://localhost:5000/webhook');
  const counts = new Map<string, number>();
  const report = await simulate({
    ...options,
    url,
    speed: number(args, 'speed', 0),
    concurrency: number(args, 'concurrency', 8),
    onResult: (r) => {
      const key = r.status === 0 ? `failed (${r.error ?? 'error'})` : String(r.status);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    },
  });
  process.stdout.write(`${report.calls.length} calls, ${report.deliveries.length} deliveries: ${[...counts].map(([k, v]) => `${v} × ${k}`).join(', ')}\n`);
  return report.results.every((r) => r.status >= 200 && r.status < 300) ? 0 : 1;
}
