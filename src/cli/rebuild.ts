import { resolve } from 'node:path';
import { loadConfig } from '../config.js';
import { describeStore, openStore } from '../store/index.js';

export const rebuildHelp = `callhook rebuild: derive every call again from the stored events

Usage: callhook rebuild [--database-url postgres://…] [--data-dir ./data]

Calls are derived data: this recomputes all of them from the events, and gets what the server
built as the events arrived, whatever their order. Safe while the server runs.

Example:
  callhook rebuild --data-dir /var/lib/callhook`;

export async function runRebuild(args: Record<string, string | undefined>): Promise<number> {
  const config = loadConfig(args);
  const store = await openStore(config);
  try {
    const calls = await store.rebuildCalls();
    await store.closeStaleCalls(new Date(Date.now() - config.staleAfterMin * 60_000).toISOString());
    process.stdout.write(`${describeStore(config, (p) => resolve(p))}: ${calls} calls rebuilt\n`);
    return 0;
  } finally {
    await store.close();
  }
}
