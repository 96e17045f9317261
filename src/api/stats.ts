import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { AlertSchema, ALERT_RULES, alertFromRow, listAlertsQuery } from '../alerts/engine.js';
import { itemFromRow, MissedItemSchema } from '../calls/missed.js';
import type { Config } from '../config.js';
import { CallhookError } from '../errors.js';
import { computeHeatmap, computeSpend, computeStats, DEFINITIONS } from '../stats/figures.js';
import { GROUP_BY, rollupOptions, type Range } from '../stats/sql.js';
import type { Store } from '../store/port.js';
import { checkTimeZone } from './export.js';
import { ErrorResponse } from './schemas.js';

const MAX_RANGE_DAYS = 400;
const DAY_MS = 86_400_000;

const RangeQuery = {
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Calls that started at or after this time (to the whole second); default: 30 days before until.' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'Calls that started before this time (to the whole second); default: now.' })),
  tz: Type.Optional(Type.String({ maxLength: 64, description: 'IANA time zone for hour, day and weekday; default CALLHOOK_TZ.' })),
};

const Num = Type.Union([Type.Number(), Type.Null()]);
const FigureProps = {
  offered: Type.Integer(), answered: Type.Integer(), missed: Type.Integer(), answer_rate: Num, missed_rate: Num,
  abandoned: Type.Integer(), short_abandoned: Type.Integer(), abandon_rate: Num,
  avg_speed_of_answer_sec: Num, answered_with_known_wait: Type.Integer(), avg_wait_sec: Num, offered_with_known_wait: Type.Integer(),
  longest_wait_sec: Num, service_level: Num, avg_talk_sec: Num, total_talk_sec: Type.Integer(), voicemails: Type.Integer(),
  outbound_attempts: Type.Integer(), outbound_answered: Type.Integer(), outbound_answer_rate: Num, repeat_callers: Type.Integer(),
  peak_concurrent: Type.Integer(), cost: Type.String(), callback_rate: Num, avg_time_to_callback_sec: Num,
};
const Key = Type.Union([Type.String(), Type.Integer(), Type.Null()], { description: 'team, agent, IVR, number or direction; hour 0-23; day YYYY-MM-DD; weekday 0-6 from Sunday.' });

export const StatsSchema = Type.Object({
  since: Type.String(), until: Type.String(), tz: Type.String(), group_by: Type.Union([Type.String(), Type.Null()]),
  sl: Type.Integer(), short_abandon_sec: Type.Integer(), call_rate_unit: Type.String(),
  totals: Type.Object(FigureProps),
  groups: Type.Array(Type.Object({ key: Key, ...FigureProps })),
  definitions: Type.Record(Type.String(), Type.String()),
});

export const HeatmapSchema = Type.Object({
  since: Type.String(), until: Type.String(), tz: Type.String(),
  cells: Type.Array(Type.Object({ weekday: Type.Integer(), hour: Type.Integer(), offered: Type.Integer(), missed: Type.Integer() })),
});

/** The range of a request, checked: defaults, a known time zone, at most MAX_RANGE_DAYS. */
export function resolveRange(q: { since?: string | undefined; until?: string | undefined; tz?: string | undefined }, config: Config, now = Date.now()): Range {
  const tz = q.tz ?? config.tz;
  checkTimeZone(tz);
  // whole seconds, as calls are counted by the second they started in
  const second = (ms: number) => Math.floor(ms / 1000) * 1000;
  const until = second(q.until === undefined ? now : Date.parse(q.until));
  const since = second(q.since === undefined ? until - 30 * DAY_MS : Date.parse(q.since));
  if (!(since < until) || until - since > MAX_RANGE_DAYS * DAY_MS) throw new CallhookError('invalid_range', `got since ${new Date(since).toISOString()}, until ${new Date(until).toISOString()}`);
  return { since: new Date(since).toISOString(), until: new Date(until).toISOString(), tz };
}

/** Cursors of the callback queue: the position (attempts, first_missed_at, id) of the last item of a page. */
function decodeMissedCursor(cursor: string | undefined): [number, string, string] | undefined {
  if (cursor === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 3 && typeof v[0] === 'number' && typeof v[1] === 'string' && typeof v[2] === 'string') return [v[0], v[1], v[2]];
  } catch {
    // reported below
  }
  throw new CallhookError('invalid_cursor');
}

/** /api/stats, /api/stats/heatmap, /api/spend, /api/missed, /api/alerts. */
export async function statsRoutes(fastify: FastifyInstance, { store, config }: { store: Store; config: Config }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/api/stats', {
    schema: {
      summary: 'Call-center statistics, in total and per group; every figure counts calls once',
      querystring: Type.Object({
        ...RangeQuery,
        group_by: Type.Optional(Type.Enum([...GROUP_BY])),
        sl: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600, description: 'Service-level threshold in seconds; default CALLHOOK_SL_SEC.' })),
        short_abandon: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600, description: 'Short-abandon threshold in seconds; default CALLHOOK_SHORT_ABANDON_SEC.' })),
      }),
      response: {
        200: StatsSchema,
        400: ErrorResponse,
      },
    },
  }, async (request) => {
    const q = request.query;
    const range = resolveRange(q, config);
    const sl = q.sl ?? config.slSec;
    const shortAbandon = q.short_abandon ?? config.shortAbandonSec;
    const stats = await computeStats(store, range, { group: q.group_by ?? null, sl, shortAbandon, rateUnit: config.callRateUnit, rollup: rollupOptions(config) });
    return { ...range, group_by: q.group_by ?? null, sl, short_abandon_sec: shortAbandon, call_rate_unit: config.callRateUnit, ...stats, definitions: DEFINITIONS };
  });

  app.get('/api/stats/heatmap', {
    schema: {
      summary: 'Offered and missed calls per weekday (0 = Sunday) and hour, in the time zone',
      querystring: Type.Object(RangeQuery),
      response: {
        200: HeatmapSchema,
        400: ErrorResponse,
      },
    },
  }, async (request) => {
    const range = resolveRange(request.query, config);
    return { ...range, cells: await computeHeatmap(store, range, rollupOptions(config)) };
  });

  app.get('/api/spend', {
    schema: {
      summary: 'PIOPIY spend from each call\'s billing fields, the latest balance and how long it lasts',
      querystring: Type.Object({ ...RangeQuery, group_by: Type.Optional(Type.Enum(['day', 'team', 'agent'])) }),
      response: {
        200: Type.Object({
          since: Type.String(), until: Type.String(), tz: Type.String(), call_rate_unit: Type.String(),
          totals: Type.Object({ billed_calls: Type.Integer(), spend: Type.String(), talk_sec: Type.Integer() }),
          groups: Type.Array(Type.Object({ key: Key, billed_calls: Type.Integer(), spend: Type.String(), talk_sec: Type.Integer() })),
          balance: Type.Union([Type.String(), Type.Null()], { description: 'As reported by the latest billed call.' }),
          balance_at: Type.Union([Type.String(), Type.Null()]),
          avg_daily_spend: Type.String({ description: 'Spend in the range ÷ its length in days.' }),
          days_of_balance_left: Type.Union([Type.Number(), Type.Null()], { description: 'balance ÷ avg_daily_spend.' }),
        }),
        400: ErrorResponse,
      },
    },
  }, async (request) => {
    const range = resolveRange(request.query, config);
    return { ...range, call_rate_unit: config.callRateUnit, ...(await computeSpend(store, range, request.query.group_by ?? null, config.callRateUnit)) };
  });

  app.get('/api/missed', {
    schema: {
      summary: 'The missed-call callback queue, most urgent first (most attempts, then oldest)',
      querystring: Type.Object({
        state: Type.Optional(Type.Enum(['open', 'resolved'])),
        team: Type.Optional(Type.String({ maxLength: 200 })),
        since: Type.Optional(Type.String({ format: 'date-time', description: 'Items first missed at or after this time.' })),
        limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
        cursor: Type.Optional(Type.String({ maxLength: 400 })),
      }),
      response: { 200: Type.Object({ items: Type.Array(MissedItemSchema), next_cursor: Type.Union([Type.String(), Type.Null()]) }), 400: ErrorResponse },
    },
  }, async (request) => {
    const q = request.query;
    const where: string[] = [];
    const params: (string | number)[] = [];
    const add = (condition: string, ...values: (string | number)[]) => {
      where.push(condition);
      params.push(...values);
    };
    if (q.state !== undefined) add('state = ?', q.state);
    if (q.team !== undefined) add('team = ?', q.team);
    if (q.since !== undefined) add('first_missed_at >= ?', new Date(q.since).toISOString());
    const after = decodeMissedCursor(q.cursor);
    if (after) add('(attempts < ? OR (attempts = ? AND (first_missed_at > ? OR (first_missed_at = ? AND id > ?))))', after[0], after[0], after[1], after[1], after[2]);
    const [rows = []] = await store.read([
      { sql: `SELECT * FROM missed_items ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY attempts DESC, first_missed_at, id LIMIT ?`, params: [...params, q.limit + 1] },
    ]);
    const items = rows.slice(0, q.limit).map(itemFromRow);
    const last = items[items.length - 1];
    return { items, next_cursor: rows.length > q.limit && last ? Buffer.from(JSON.stringify([last.attempts, last.first_missed_at, last.id])).toString('base64url') : null };
  });

  const getItem = async (id: string) => {
    const [[row] = []] = await store.read([{ sql: 'SELECT * FROM missed_items WHERE id = ?', params: [id] }]);
    return row ? itemFromRow(row) : null;
  };

  app.get('/api/missed/:id', {
    schema: { summary: 'One callback item', params: Type.Object({ id: Type.String({ maxLength: 300 }) }), response: { 200: MissedItemSchema, 404: ErrorResponse } },
  }, async (request) => {
    const item = await getItem(request.params.id);
    if (!item) throw new CallhookError('not_found', `no callback item ${request.params.id}`);
    return item;
  });

  app.post('/api/missed/:id/resolve', {
    schema: {
      summary: 'Resolve a callback item by hand',
      params: Type.Object({ id: Type.String({ maxLength: 300 }) }),
      body: Type.Object({ note: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false }),
      response: { 200: MissedItemSchema, 404: ErrorResponse, 409: ErrorResponse },
    },
    // a POST with no body at all (curl -X POST) resolves without a note
    preValidation: async (request) => {
      request.body ??= {};
    },
  }, async (request) => {
    const { id } = request.params;
    const outcome = await store.resolveMissed(id, new Date().toISOString(), request.body.note ?? null);
    const item = await getItem(id);
    if (outcome === 'not_found' || !item) throw new CallhookError('not_found', `no callback item ${id}`);
    if (outcome === 'already_resolved') throw new CallhookError('already_resolved', `resolved at ${item.resolved_at ?? ''} (${item.resolved_by ?? ''})`);
    return item;
  });

  app.get('/api/alerts', {
    schema: {
      summary: 'Alert firings and clearings, newest first',
      querystring: Type.Object({ state: Type.Optional(Type.Enum(['firing', 'cleared'])), rule: Type.Optional(Type.Enum([...ALERT_RULES])), limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }) }),
      response: { 200: Type.Object({ items: Type.Array(AlertSchema) }), 400: ErrorResponse },
    },
  }, async (request) => {
    const [rows = []] = await store.read([listAlertsQuery(request.query)]);
    return { items: rows.map(alertFromRow) };
  });
}
