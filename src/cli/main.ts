#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, SETTINGS } from '../config.js';
import { destinationsHelp, replayHelp, runDestinations, runReplay } from './destinations.js';
import { exportHelp, runExport } from './export.js';
import { migrateHelp, runMigrate } from './migrate.js';
import { rebuildHelp, runRebuild } from './rebuild.js';
import { serve, serveHelp } from './serve.js';
import { runSimulate, simulateHelp } from './simulate.js';
import { runStats, statsHelp } from './stats.js';
import { runTail, tailHelp } from './tail.js';

const HELP = `callhook: durable webhooks, calls and statistics for TeleCMI and PIOPIY

Usage: callhook <command> [options]

Commands:
  serve         receive webhooks and serve the API (the main job)
  simulate      send realistic call flows to a webhook URL, or print them with --dry-run
  migrate       apply the database migrations (serve does too), or list them with --dry-run
  rebuild       derive every call again from the stored events
  tail          follow the live stream of a running server, one line per event
  export        write calls or events as CSV or JSON lines from the database
  stats         print call-center statistics as a table
  destinations  add, list, pause, resume or remove forwarding destinations
  replay        send a range of stored events to a destination again

Run "callhook <command> --help" for a command's options and environment variables.`;

const HELPS: Record<string, string> = {
  serve: serveHelp, simulate: simulateHelp, migrate: migrateHelp, rebuild: rebuildHelp, tail: tailHelp, export: exportHelp, stats: statsHelp, destinations: destinationsHelp, replay: replayHelp,
};

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];
const text = (names: readonly string[]): Options => Object.fromEntries(names.map((n) => [n, { type: 'string' }]));
const OPTIONS: Record<string, Options> = {
  serve: text(SETTINGS.map((s) => s.flag)),
  simulate: { ...text(['url', 'calls', 'rate', 'seed', 'start', 'chaos', 'returning', 'speed', 'concurrency']), 'dry-run': { type: 'boolean' } },
  migrate: { ...text(['database-url', 'data-dir']), 'dry-run': { type: 'boolean' } },
  rebuild: text(['database-url', 'data-dir', 'stale-after']),
  tail: { ...text(['url', 'token', 'kind', 'data-dir']), json: { type: 'boolean' } },
  stats: { ...text(['since', 'until', 'group-by', 'tz', 'sl', 'data-dir', 'database-url']), json: { type: 'boolean' } },
  destinations: {
    ...text(['url', 'kinds', 'description', 'rate-limit', 'max-in-flight', 'data-dir', 'database-url']),
    filter: { type: 'string', multiple: true },
    header: { type: 'string', multiple: true },
    paused: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  replay: { ...text(['destination', 'since', 'until', 'kinds', 'data-dir', 'database-url']), 'dry-run': { type: 'boolean' } },
  export: {
    ...text(['format', 'tz', 'direction', 'status', 'agent', 'team', 'number', 'since', 'until', 'kind', 'platform', 'data-dir', 'database-url']),
    calls: { type: 'boolean' },
    events: { type: 'boolean' },
  },
};

/** Parses the command line and runs one command; only this function decides the exit code. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${HELP}\n`);
    return command === undefined ? 1 : 0;
  }
  if (!(command in HELPS)) {
    process.stderr.write(`unknown command "${command}"\n\n${HELP}\n`);
    return 2;
  }
  try {
    const positional = command === 'destinations';
    const { values, positionals } = parseArgs({ args: rest, options: { ...OPTIONS[command], help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: positional });
    if (values['help'] === true) {
      process.stdout.write(`${HELPS[command]}\n`);
      return 0;
    }
    const args: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(values)) if (typeof v === 'string') args[k] = v;
    const flag = (name: string) => (values as Record<string, unknown>)[name] === true;
    const dryRun = flag('dry-run');
    if (command === 'serve') return await serve(args);
    if (command === 'migrate') return await runMigrate(args, dryRun);
    if (command === 'rebuild') return await runRebuild(args);
    if (command === 'tail') return await runTail(args, flag('json'));
    if (command === 'stats') return await runStats(args, flag('json'));
    if (command === 'export') return await runExport(args, { calls: flag('calls'), events: flag('events') });
    if (command === 'replay') return await runReplay(args, dryRun);
    if (command === 'destinations') {
      const many = (name: string) => ((values as Record<string, unknown>)[name] as string[] | undefined) ?? [];
      if (positionals.length > 2) throw new Error(`unexpected "${positionals.slice(2).join(' ')}"`);
      return await runDestinations({ action: positionals[0], id: positionals[1], values: args, filters: many('filter'), headers: many('header'), paused: flag('paused'), json: flag('json') });
    }
    return await runSimulate(args, dryRun);
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    process.stderr.write(`callhook ${command}: ${err.message}${err instanceof ConfigError ? '' : `\nRun "callhook ${command} --help" for the options.`}\n`);
    return 2;
  }
}

// a reader that stops early (callhook simulate --dry-run | head) is not an error
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
process.exitCode = await main(process.argv.slice(2));
