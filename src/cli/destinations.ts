import { Compile } from 'typebox/compile';
import { loadConfig } from '../config.js';
import { CallhookError } from '../errors.js';
import {
  createDestination,
  DestinationInputSchema,
  listDestinations,
  removeDestination,
  replay,
  ReplayInputSchema,
  updateDestination,
  type Destination,
  type DestinationInput,
  type ReplayInput,
} from '../forward/destinations.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/port.js';

export const destinationsHelp = `callhook destinations: manage where callhook forwards events, straight in the database

Usage:
  callhook destinations list [--json]
  callhook destinations add --url URL --kinds KINDS [--filter FIELD=VALUE | FIELD^=PREFIX]…
                            [--header "Name: value"]… [--rate-limit N] [--max-in-flight N]
                            [--description TEXT] [--paused]
  callhook destinations pause ID | resume ID | remove ID

  --kinds           comma-separated: exact kinds (cdr.inbound.missed, call.updated), prefixes
                    (cdr.*, event.inbound.*, alert.*) or * for all
  --filter          only data whose field equals (=) or starts with (^=) the value; repeatable
  --header          an extra request header; repeatable
  --rate-limit      requests per second at most (per instance)
  --paused          queue deliveries but hold them until "resume"
  --data-dir, --database-url   where the data is, as for serve

add prints the signing secret (whsec_…) once: keep it for the receiver to verify signatures.
A running server picks changes up within CALLHOOK_FORWARD_POLL_MS.

Example:
  callhook destinations add --url https://crm.example.com/hooks/calls --kinds 'cdr.*,call.updated' --filter team=Sales`;

export const replayHelp = `callhook replay: send a range of stored events, calls and alerts to a destination again

Usage: callhook replay --destination ID --since ISO [--until ISO] [--kinds KINDS] [--dry-run]

  --since, --until  events received, calls started and alerts fired or cleared in this range
                    (until defaults to now)
  --kinds           what to send again (default: the destination's kinds)
  --dry-run         print what would be sent, and send nothing
  --data-dir, --database-url   where the data is, as for serve

Events keep their webhook-id. A running server sends the replay after live deliveries, at most
CALLHOOK_FORWARD_REPLAY_RATE a second.

Example:
  callhook replay --destination 3 --since 2026-11-20T00:00:00Z --kinds 'cdr.*' --dry-run`;

const checkInput = Compile(DestinationInputSchema);
const checkReplay = Compile(ReplayInputSchema);

function invalid(what: string, errors: Iterable<{ instancePath: string; message: string }>): Error {
  const first = [...errors][0];
  return new Error(`${what}: ${first ? `${first.instancePath || 'input'} ${first.message}` : 'invalid'}`);
}

const list = (value: string | undefined) => (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');

/** --filter team=Sales, --filter agent^=103 */
function parseFilter(text: string): { field: string; op: 'eq' | 'prefix'; value: string } {
  const m = /^([a-z_]+)(\^?=)(.*)$/.exec(text);
  if (!m) throw new Error(`--filter takes FIELD=VALUE or FIELD^=PREFIX, got "${text}"`);
  return { field: m[1] as string, op: m[2] === '^=' ? 'prefix' : 'eq', value: m[3] as string };
}

function parseHeader(text: string): [string, string] {
  const at = text.indexOf(':');
  if (at <= 0) throw new Error(`--header takes "Name: value", got "${text}"`);
  return [text.slice(0, at).trim(), text.slice(at + 1).trim()];
}

function line(d: Destination): string {
  const filters = d.filters.map((f) => `${f.field}${f.op === 'eq' ? '=' : '^='}${f.value}`).join(' ');
  return [d.id, d.state, d.url, d.kinds.join(','), filters].filter((s) => s !== '').join('  ');
}

async function withStore<T>(args: Record<string, string | undefined>, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(loadConfig({ 'data-dir': args['data-dir'], 'database-url': args['database-url'] }));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Errors of the service read as the API's messages. */
async function service<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CallhookError) throw new Error(err.message);
    throw err;
  }
}

export interface DestinationsArgs {
  action: string | undefined;
  id: string | undefined;
  values: Record<string, string | undefined>;
  filters: string[];
  headers: string[];
  paused: boolean;
  json: boolean;
}

export async function runDestinations(a: DestinationsArgs): Promise<number> {
  const { values } = a;
  switch (a.action) {
    case 'list':
      return withStore(values, async (store) => {
        const all = await listDestinations(store);
        process.stdout.write(a.json ? `${JSON.stringify(all)}\n` : all.length === 0 ? 'no destinations\n' : `${all.map(line).join('\n')}\n`);
        return 0;
      });
    case 'add': {
      const input: DestinationInput = {
        url: values['url'] ?? '',
        kinds: list(values['kinds']),
        filters: a.filters.map(parseFilter),
        headers: Object.fromEntries(a.headers.map(parseHeader)),
        ...(values['description'] !== undefined ? { description: values['description'] } : {}),
        ...(values['rate-limit'] !== undefined ? { rate_limit: Number(values['rate-limit']) } : {}),
        ...(values['max-in-flight'] !== undefined ? { max_in_flight: Number(values['max-in-flight']) } : {}),
        state: a.paused ? 'paused' : 'active',
      };
      if (!checkInput.Check(input)) throw invalid('the destination is not valid', checkInput.Errors(input));
      return withStore(values, async (store) => {
        const { destination, secret } = await service(() => createDestination(store, input));
        process.stdout.write(`added destination ${destination.id} (${destination.state}): ${destination.url}\nsigning secret (shown once): ${secret}\n`);
        return 0;
      });
    }
    case 'pause':
    case 'resume':
    case 'remove': {
      const id = a.id;
      if (id === undefined) throw new Error(`"destinations ${a.action}" needs the destination's id`);
      return withStore(values, async (store) => {
        const done = a.action === 'remove' ? await removeDestination(store, id) : (await updateDestination(store, id, { state: a.action === 'pause' ? 'paused' : 'active' })) !== null;
        if (!done) {
          process.stderr.write(`no destination ${id}\n`);
          return 1;
        }
        process.stdout.write(`destination ${id} ${a.action === 'pause' ? 'paused' : a.action === 'resume' ? 'resumed' : 'removed'}\n`);
        return 0;
      });
    }
    default:
      throw new Error(`destinations takes list, add, pause, resume or remove${a.action === undefined ? '' : `, got "${a.action}"`}`);
  }
}

export async function runReplay(args: Record<string, string | undefined>, dryRun: boolean): Promise<number> {
  const id = args['destination'];
  if (id === undefined) throw new Error('--destination is required');
  const input: ReplayInput = {
    since: args['since'] ?? '',
    ...(args['until'] !== undefined ? { until: args['until'] } : {}),
    ...(args['kinds'] !== undefined ? { kinds: list(args['kinds']) } : {}),
    dry_run: dryRun,
  };
  if (!checkReplay.Check(input) || Number.isNaN(Date.parse(input.since))) throw invalid('the replay is not valid (--since and --until take ISO 8601 times)', checkReplay.Errors(input));
  const config = loadConfig({ 'data-dir': args['data-dir'], 'database-url': args['database-url'] });
  return withStore(args, async (store) => {
    const result = await service(() => replay(store, id, input, config));
    if (result === null) {
      process.stderr.write(`no destination ${id}\n`);
      return 1;
    }
    const kinds = Object.entries(result.kinds).map(([k, n]) => `  ${k}: ${n}`).join('\n');
    process.stdout.write(`${dryRun ? 'would send' : 'queued'} ${result.count} deliveries to destination ${id}${kinds ? `\n${kinds}` : ''}\n`);
    return 0;
  });
}
