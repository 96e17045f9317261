import { parentPort, workerData } from 'node:worker_threads';
import type { Sql } from '../port.js';
import type { WriteRow } from '../rows.js';
import { SqliteWriter } from './writer.js';

/**
 * The writer thread: commits batches, so that neither the inserts nor the fsync of a commit stop
 * the main thread from reading and parsing the next requests.
 */
export type WriterRequest =
  | { seq: number; op: 'ingest'; rows: WriteRow[] }
  | { seq: number; op: 'project'; limit: number }
  | { seq: number; op: 'rebuild' }
  | { seq: number; op: 'close-stale'; before: string }
  | { seq: number; op: 'statements'; statements: Sql[] }
  | { seq: number; op: 'resolve-missed'; itemId: string; at: string; note: string | null }
  | { seq: number; op: 'close' };
export type WriterResponse = { seq: number; result: unknown } | { seq: number; error: string };

const port = parentPort;
if (port) {
  const writer = new SqliteWriter((workerData as { file: string }).file);
  let pendingProjectionError: string | null = null;
  const run = (msg: WriterRequest): unknown => {
    switch (msg.op) {
      case 'ingest': {
        const results = writer.write.immediate(msg.rows);
        if (writer.projectionError) {
          const err = writer.projectionError;
          writer.projectionError = null;
          // the ingest committed: report the projection's failure on the projector's next run
          pendingProjectionError = err instanceof Error ? err.message : String(err);
        }
        return results;
      }
      case 'project': {
        if (pendingProjectionError) {
          const message = pendingProjectionError;
          pendingProjectionError = null;
          throw new Error(`stitching with an ingest failed: ${message}`);
        }
        return writer.transaction(() => writer.projection.project(msg.limit));
      }
      case 'rebuild':
        return writer.spillingTransaction(() => writer.projection.rebuild());
      case 'close-stale':
        return writer.transaction(() => writer.projection.closeStale(msg.before));
      case 'statements':
        return writer.spillingTransaction(() => writer.projection.statements(msg.statements));
      case 'resolve-missed':
        return writer.transaction(() => writer.projection.resolveMissed(msg.itemId, msg.at, msg.note));
      case 'close':
        writer.close();
        return null;
    }
  };
  port.on('message', (msg: WriterRequest) => {
    try {
      port.postMessage({ seq: msg.seq, result: run(msg) } satisfies WriterResponse);
    } catch (err) {
      port.postMessage({ seq: msg.seq, error: err instanceof Error ? err.message : String(err) } satisfies WriterResponse);
    }
    if (msg.op === 'close') port.close();
  });
}
