import { parentPort, workerData } from 'node:worker_threads';
import type { IngestResult } from '../port.js';
import type { WriteRow } from '../rows.js';
import { SqliteWriter } from './writer.js';

/**
 * The writer thread: commits batches, so that neither the inserts nor the fsync of a commit stop
 * the main thread from reading and parsing the next requests.
 */
export type WriterRequest = { seq: number; rows: WriteRow[] } | { seq: number; close: true };
export type WriterResponse = { seq: number; results: IngestResult[] } | { seq: number; error: string } | { seq: number; closed: true };

const port = parentPort;
if (port) {
  const writer = new SqliteWriter((workerData as { file: string }).file);
  port.on('message', (msg: WriterRequest) => {
    if ('close' in msg) {
      writer.close();
      port.postMessage({ seq: msg.seq, closed: true } satisfies WriterResponse);
      port.close();
      return;
    }
    try {
      port.postMessage({ seq: msg.seq, results: writer.write.immediate(msg.rows) } satisfies WriterResponse);
    } catch (err) {
      port.postMessage({ seq: msg.seq, error: err instanceof Error ? err.message : String(err) } satisfies WriterResponse);
    }
  });
}
