import { once } from 'node:events';
import { checkTimeZone, exportCalls, exportEvents, type ExportFormat } from '../api/export.js';
import { loadConfig } from '../config.js';
import { CALL_STATUSES, type CallStatus } from '../calls/call-schema.js';
import { isEventKind } from '../payloads/kinds.js';
import { openStore } from '../store/index.js';

export const exportHelp = `callhook export: write calls or events as CSV or JSON lines, straight from the database

Usage: callhook export (--calls | --events) [--format csv|jsonl] [--tz Asia/Kolkata] [filters]

  --format     csv (with a header row; the default) or jsonl
  --tz         IANA time zone the times are written in (default UTC)
  calls:       --direction --status --agent --team --number --since --until
  events:      --kind --platform --since --until
  --data-dir, --database-url   where the data is, as for serve

Example:
  callhook export --calls --status missed --since 2026-11-01T00:00:00Z > missed.csv`;

export async function runExport(args: Record<string, string | undefined>, what: { calls: boolean; events: boolean }): Promise<number> {
  if (what.calls === what.events) throw new Error('say --calls or --events');
  const format = (args['format'] ?? 'csv') as ExportFormat;
  if (format !== 'csv' && format !== 'jsonl') throw new Error(`--format is csv or jsonl, got "${format}"`);
  const tz = args['tz'] ?? 'UTC';
  checkTimeZone(tz);
  for (const t of [args['since'], args['until']]) if (t !== undefined && Number.isNaN(Date.parse(t))) throw new Error(`--since and --until take ISO 8601 times, got "${t}"`);
  const status = args['status'];
  if (status !== undefined && !CALL_STATUSES.includes(status as CallStatus)) throw new Error(`--status is one of ${CALL_STATUSES.join(', ')}`);
  if (args['number'] !== undefined && !/^[0-9]{1,20}$/.test(args['number'])) throw new Error('--number takes the leading digits of a number');
  const kind = args['kind'];
  if (kind !== undefined && !isEventKind(kind)) throw new Error(`--kind "${kind}" is not a kind callhook knows`);
  const since = args['since'] && new Date(args['since']).toISOString();
  const until = args['until'] && new Date(args['until']).toISOString();
  const config = loadConfig({ 'data-dir': args['data-dir'], 'database-url': args['database-url'] });
  const store = await openStore(config);
  try {
    const rows = what.calls
      ? exportCalls(store, { direction: args['direction'], status: status as CallStatus | undefined, agent: args['agent'], team: args['team'], number: args['number'], since, until }, format, tz)
      : exportEvents(store, { kind, platform: args['platform'], since, until }, format, tz);
    for await (const line of rows) if (!process.stdout.write(line)) await once(process.stdout, 'drain');
    return 0;
  } finally {
    await store.close();
  }
}
