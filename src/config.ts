import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';

/**
 * Every setting of the server, once: its type, default, environment variable, command-line flag
 * and description. Help text, validation and the Config type all come from here, and nothing else
 * reads process.env.
 */
const meta = (env: string, flag: string, description: string) => ({ env, flag, description });

export const ConfigSchema = Type.Object({
  host: Type.String({ default: '0.0.0.0', ...meta('HOST', 'host', 'Address to listen on.') }),
  port: Type.Integer({ default: 5000, minimum: 0, maximum: 65535, ...meta('PORT', 'port', 'Port to listen on (0 picks a free one).') }),
  dataDir: Type.String({ default: './data', ...meta('CALLHOOK_DATA_DIR', 'data-dir', 'Where the SQLite database and the generated API token live.') }),
  databaseUrl: Type.Optional(
    Type.String({
      pattern: '^postgres(ql)?://',
      ...meta('DATABASE_URL', 'database-url', 'postgres://user:password@host:5432/db selects PostgreSQL, shared by several callhook instances. Unset: embedded SQLite in the data directory.'),
    }),
  ),
  apiToken: Type.Optional(
    Type.String({ minLength: 16, ...meta('CALLHOOK_API_TOKEN', 'api-token', 'Bearer token for the API (16 characters or more). Unset: one is generated at first start, saved in the data directory and printed.') }),
  ),
  webhookToken: Type.Optional(
    Type.Array(Type.String(), { ...meta('CALLHOOK_WEBHOOK_TOKEN', 'webhook-token', 'Secret(s) the webhook URL must carry as ?token=, comma-separated to allow rotation. Unset: no secret needed.') }),
  ),
  webhookAllow: Type.Optional(
    Type.Array(Type.String(), { ...meta('CALLHOOK_WEBHOOK_ALLOW', 'webhook-allow', 'Comma-separated CIDRs allowed to send webhooks (others get 403). Unset: any address.') }),
  ),
  trustProxy: Type.Optional(
    Type.Array(Type.String(), {
      ...meta('CALLHOOK_TRUST_PROXY', 'trust-proxy', 'Comma-separated proxy addresses or CIDRs (or loopback, linklocal, uniquelocal) whose X-Forwarded-For is honoured. Unset: none.'),
    }),
  ),
  bodyLimit: Type.Integer({ default: 1048576, minimum: 1024, ...meta('CALLHOOK_BODY_LIMIT', 'body-limit', 'Largest webhook body in bytes; larger ones get 413.') }),
  headersTimeoutMs: Type.Integer({ default: 10000, minimum: 100, ...meta('CALLHOOK_HEADERS_TIMEOUT_MS', 'headers-timeout', 'Time a client has to send its request headers, in ms.') }),
  requestTimeoutMs: Type.Integer({ default: 30000, minimum: 100, ...meta('CALLHOOK_REQUEST_TIMEOUT_MS', 'request-timeout', 'Time a client has to send its whole request, in ms.') }),
  shutdownTimeoutMs: Type.Integer({ default: 10000, minimum: 0, ...meta('CALLHOOK_SHUTDOWN_TIMEOUT_MS', 'shutdown-timeout', 'On SIGTERM or SIGINT, how long in-flight requests may take to finish, in ms.') }),
  publicUrl: Type.Optional(
    Type.String({ pattern: '^https?://', ...meta('CALLHOOK_PUBLIC_URL', 'public-url', 'The address the platform reaches callhook at (e.g. https://calls.example.com), for the webhook URL printed at start-up and shown on the dashboard.') }),
  ),
  sessionHours: Type.Integer({ default: 168, minimum: 1, maximum: 8760, ...meta('CALLHOOK_SESSION_HOURS', 'session-hours', 'How long a dashboard sign-in lasts, in hours.') }),
  staleAfterMin: Type.Integer({
    default: 120,
    minimum: 1,
    ...meta('CALLHOOK_STALE_AFTER_MIN', 'stale-after', 'A live call with no event for this many minutes is closed as stale and no longer counted as live.'),
  }),
  tz: Type.String({ default: 'UTC', ...meta('CALLHOOK_TZ', 'tz', 'IANA time zone of statistics by hour, day and weekday and of business hours (e.g. Asia/Kolkata), unless a request names one.') }),
  slSec: Type.Integer({ default: 20, minimum: 0, ...meta('CALLHOOK_SL_SEC', 'sl', 'Service-level threshold in seconds: answered within it counts as in service level.') }),
  shortAbandonSec: Type.Integer({ default: 5, minimum: 0, ...meta('CALLHOOK_SHORT_ABANDON_SEC', 'short-abandon', 'Callers who hang up within this many seconds are short abandons, counted apart from abandoned.') }),
  callRateUnit: Type.Enum(['minute', 'call'], {
    default: 'minute',
    ...meta('CALLHOOK_CALL_RATE_UNIT', 'call-rate-unit', "How PIOPIY's call_rate is charged: per started minute of talk (minute) or once per call (call). The vendor does not say."),
  }),
  alertCallbackMin: Type.Integer({ default: 0, minimum: 0, ...meta('CALLHOOK_ALERT_CALLBACK_MIN', 'alert-callback', 'Alert when a missed call is not called back within this many minutes (0: off).') }),
  alertServiceLevelPct: Type.Integer({ default: 0, minimum: 0, maximum: 100, ...meta('CALLHOOK_ALERT_SL_PCT', 'alert-sl', 'Alert when the service level of the last 60 minutes falls below this percentage (0: off).') }),
  alertWaitSec: Type.Integer({ default: 0, minimum: 0, ...meta('CALLHOOK_ALERT_WAIT_SEC', 'alert-wait', 'Alert when a caller has been waiting longer than this many seconds (0: off).') }),
  alertSilenceMin: Type.Integer({ default: 0, minimum: 0, ...meta('CALLHOOK_ALERT_SILENCE_MIN', 'alert-silence', 'Alert when no webhook has arrived for this many minutes within business hours (0: off).') }),
  businessHours: Type.String({
    default: 'mon-fri 09:00-18:00',
    pattern: '^(mon|tue|wed|thu|fri|sat|sun)(-(mon|tue|wed|thu|fri|sat|sun))? ([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-4]):[0-5][0-9]$',
    ...meta('CALLHOOK_BUSINESS_HOURS', 'business-hours', 'Days and hours in CALLHOOK_TZ when silence is alerted, e.g. "mon-fri 09:00-18:00" or "mon-sun 00:00-24:00".'),
  }),
  alertBalanceBelow: Type.Optional(
    Type.String({ pattern: '^[0-9]+(\\.[0-9]{1,6})?$', ...meta('CALLHOOK_ALERT_BALANCE_BELOW', 'alert-balance', 'Alert when the PIOPIY balance falls below this amount (unset: off).') }),
  ),
  alertBalanceReset: Type.Optional(
    Type.String({ pattern: '^[0-9]+(\\.[0-9]{1,6})?$', ...meta('CALLHOOK_ALERT_BALANCE_RESET', 'alert-balance-reset', 'The balance alert clears only once the balance is back at or above this amount (default: the alert level), so it does not flap.') }),
  ),
  alertIntervalMs: Type.Integer({ default: 15000, minimum: 50, ...meta('CALLHOOK_ALERT_INTERVAL_MS', 'alert-interval', 'How often alert rules are checked, in ms.') }),
  forward: Type.Enum(['on', 'off'], { default: 'on', ...meta('CALLHOOK_FORWARD', 'forward', 'Whether this instance delivers to the forwarding destinations (off: it still queues deliveries for instances that do).') }),
  forwardSchedule: Type.Array(Type.String({ pattern: '^[0-9]+(ms|s|m|h)$' }), {
    default: ['5s', '30s', '2m', '10m', '30m', '1h', '3h', '6h'],
    minItems: 0,
    maxItems: 20,
    ...meta('CALLHOOK_FORWARD_SCHEDULE', 'forward-schedule', 'Waits before each retry of a failed delivery, comma-separated (ms, s, m, h); after the last one it is dead-lettered.'),
  }),
  forwardTimeoutMs: Type.Integer({ default: 10000, minimum: 100, maximum: 120000, ...meta('CALLHOOK_FORWARD_TIMEOUT_MS', 'forward-timeout', 'How long a destination has to answer a delivery, in ms.') }),
  forwardConcurrency: Type.Integer({ default: 8, minimum: 1, maximum: 100, ...meta('CALLHOOK_FORWARD_CONCURRENCY', 'forward-concurrency', 'Deliveries in flight per destination and instance, unless the destination sets its own.') }),
  forwardReplayRate: Type.Integer({ default: 20, minimum: 1, maximum: 10000, ...meta('CALLHOOK_FORWARD_REPLAY_RATE', 'forward-replay-rate', 'Replayed deliveries sent per second per destination and instance.') }),
  forwardReplayMax: Type.Integer({ default: 100000, minimum: 1, ...meta('CALLHOOK_FORWARD_REPLAY_MAX', 'forward-replay-max', 'The most deliveries one replay may queue; a larger range is refused.') }),
  forwardBusyRate: Type.Integer({
    default: 50,
    minimum: 0,
    ...meta('CALLHOOK_FORWARD_BUSY_RATE', 'forward-busy-rate', 'While webhooks saturate this instance, new deliveries slow down towards this many per second, so that acknowledging webhooks comes first; 0 never slows them.'),
  }),
  forwardPollMs: Type.Integer({ default: 1000, minimum: 20, ...meta('CALLHOOK_FORWARD_POLL_MS', 'forward-poll', 'How often the outbox is looked at for due retries and for work other instances queued, in ms.') }),
  logLevel: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info', ...meta('CALLHOOK_LOG_LEVEL', 'log-level', 'Level of the JSON log lines on stdout.') }),
});

export type Config = Static<typeof ConfigSchema>;
type Key = keyof Config;

interface SettingMeta {
  key: Key;
  env: string;
  flag: string;
  description: string;
  default?: unknown;
  kind: 'string' | 'integer' | 'list';
}

export const SETTINGS: readonly SettingMeta[] = Object.entries(ConfigSchema.properties).map(([key, raw]) => {
  const s = raw as unknown as Record<string, unknown>;
  return {
    key: key as Key,
    env: s['env'] as string,
    flag: s['flag'] as string,
    description: s['description'] as string,
    default: s['default'],
    kind: s['type'] === 'integer' ? 'integer' : s['type'] === 'array' ? 'list' : 'string',
  };
});

const validate = Compile(ConfigSchema);

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Merges command-line values over environment variables over defaults, in one pure function, and
 * fails with a message that names the setting.
 */
export function resolveConfig(args: Readonly<Record<string, string | undefined>>, env: Readonly<Record<string, string | undefined>>): Config {
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const fromArgs = args[s.flag];
    const raw = fromArgs ?? env[s.env];
    const source = fromArgs !== undefined ? `--${s.flag}` : s.env;
    if (raw === undefined || raw.trim() === '') {
      if (s.default !== undefined) out[s.key] = s.default;
      continue;
    }
    if (s.kind === 'integer') {
      if (!/^\s*\d+\s*$/.test(raw)) throw new ConfigError(`${source} must be a whole number, got "${raw}"`);
      out[s.key] = Number(raw);
    } else if (s.kind === 'list') {
      const items = raw.split(',').map((v) => v.trim()).filter((v) => v !== '');
      if (items.length > 0) out[s.key] = items;
    } else {
      out[s.key] = raw.trim();
    }
  }
  if (!validate.Check(out)) {
    const first = [...validate.Errors(out)][0];
    const key = first?.instancePath.split('/')[1] as Key | undefined;
    const meta = SETTINGS.find((s) => s.key === key);
    throw new ConfigError(`${meta ? `${meta.env} (--${meta.flag})` : 'a setting'} ${first?.message ?? 'is invalid'}: ${meta?.description ?? ''}`);
  }
  const config = out as Config;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: config.tz });
  } catch {
    throw new ConfigError(`CALLHOOK_TZ (--tz) must be an IANA time-zone name such as Asia/Kolkata, got "${config.tz}"`);
  }
  return config;
}

/** Reads the process environment: the one place that does. */
export function loadConfig(args: Readonly<Record<string, string | undefined>>): Config {
  return resolveConfig(args, process.env);
}

/** The settings as help text: flag, variable, default and description. */
export function settingsHelp(): string {
  return SETTINGS.map((s) => {
    const def = s.default === undefined ? '' : ` (default: ${String(s.default)})`;
    return `  --${s.flag.padEnd(18)} ${s.env}${def}\n      ${s.description}`;
  }).join('\n');
}
