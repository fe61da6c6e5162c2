import { parentPort } from 'node:worker_threads';
import type { DriftColumnSpec } from '../core/drift.js';
import { ColumnBuilder, DatasetProblem } from './dataset-columns.js';
import { CsvColumns } from './dataset-csv.js';
import type { ThreadReply, ThreadRequest } from './dataset-csv-thread.js';

/**
 * A CSV reader thread: parses the chunks it is sent into column builders, acknowledges each (the sender keeps
 * only a few in flight, so memory stays bounded), and at the end hands the built columns back, numerical
 * values by transfer rather than by copy.
 */

const port = parentPort!;
let reader: CsvColumns | undefined;
let builders: ColumnBuilder[] = [];
let failed = false;

const reply = (message: ThreadReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

function start(uri: string, specs: readonly DriftColumnSpec[]): void {
  builders = specs.map((s) => new ColumnBuilder(s, uri));
  reader = new CsvColumns(uri, builders);
}

port.on('message', (message: ThreadRequest) => {
  if (failed) return;
  try {
    if (message.type === 'start') start(message.uri, message.specs);
    else if (message.type === 'chunk') {
      reader!.push(Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength));
      // The reader keeps no view of the chunk past push (an unfinished record is copied): the buffer goes back.
      reply({ type: 'ack', buffer: message.bytes.buffer as ArrayBuffer }, [message.bytes.buffer as ArrayBuffer]);
    } else {
      reader!.end();
      const columns = builders.map((b) => b.build());
      const transfer = columns.flatMap((c) => (c.kind === 'numerical' && c.values instanceof Float64Array ? [c.values.buffer as ArrayBuffer] : []));
      reply({ type: 'done', rows: reader!.rows, columns }, transfer);
    }
  } catch (err) {
    failed = true;
    reply({ type: 'error', problem: err instanceof DatasetProblem, message: (err as Error).message });
  }
});
