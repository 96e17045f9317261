import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildApp, type App } from './app.js';
import type { Config } from './config.js';
import { randomToken } from './secrets.js';
import { describeStore, openStore } from './store/index.js';

/**
 * The API token: CALLHOOK_API_TOKEN, else the one saved in the data directory, else a new one
 * saved there with mode 0600 so that only the owner can read it.
 */
export function resolveApiToken(config: Pick<Config, 'apiToken' | 'dataDir'>): { token: string; source: 'config' | 'file' | 'generated'; file: string } {
  const file = join(config.dataDir, 'api-token');
  if (config.apiToken) return { token: config.apiToken, source: 'config', file };
  if (existsSync(file)) return { token: readFileSync(file, 'utf8').trim(), source: 'file', file };
  mkdirSync(config.dataDir, { recursive: true });
  const token = randomToken();
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { token, source: 'generated', file };
}

export interface Running {
  url: string;
  /** Resolves when every event stored so far is stitched into its call. */
  settle: () => Promise<void>;
  projector: App['projector'];
  alerts: App['alerts'];
  forwarder: App['forwarder'];
  close: () => Promise<void>;
}

/** The composition root: config -> store -> app -> listen, and a graceful close. */
export async function startServer(config: Config, print: (line: string) => void, options: { clock?: () => number } = {}): Promise<Running> {
  let logConnectionError = (err: Error) => print(`database connection lost: ${err.message}`);
  const store = await openStore(config, { onConnectionError: (err) => logConnectionError(err) });
  const api = resolveApiToken(config);
  const { app, projector, committer, alerts, forwarder } = await buildApp({ config, store, apiToken: api.token, ...options });
  logConnectionError = (err) => app.log.warn({ err }, 'a database connection was lost; callhook reconnects when the database answers');
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const local = `http://${config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host}:${port}`;
  const base = (config.publicUrl ?? local).replace(/\/$/, '');
  const token = config.webhookToken?.[0];

  print(`callhook listening on ${config.host}:${port}`);
  print(`Webhook URL to paste into the TeleCMI dashboard (SETTINGS > WEBHOOKS, method POST or GET):`);
  print(`  ${base}/webhook/cdr${token ? `?token=${token}` : ''}`);
  if (!config.publicUrl) print('  (set CALLHOOK_PUBLIC_URL to the address the platform reaches this machine at)');
  print(`Data: ${describeStore(config, (p) => resolve(p))}`);
  print(`Dashboard: ${local}/ (sign in with the API token)`);
  print(`API: ${local}/api/calls with "Authorization: Bearer <token>"; reference at ${local}/docs`);
  if (api.source === 'config') print('API token: from CALLHOOK_API_TOKEN');
  else print(`API token${api.source === 'generated' ? ' (new, saved to ' + api.file + ')' : ` (from ${api.file})`}: ${api.token}`);

  let closing: Promise<void> | null = null;
  return {
    url: local,
    projector,
    alerts,
    forwarder,
    settle: async () => {
      await committer.drain();
      projector.kick();
      await projector.settle();
    },
    close: () =>
      (closing ??= (async () => {
        // stop accepting, let in-flight requests finish and be acknowledged, then close the database
        await app.close();
        await store.close();
      })()),
  };
}
