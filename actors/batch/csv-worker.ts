/**
 * Worker thread of `openTradeFile` for the CSV dumps (file-source.ts): reads the file a MiB at a
 * time, scans each text of whole lines (csv-scan.ts) and posts it with its positions, at most
 * `ahead` texts beyond what the reading thread has taken. The backfill's two halves, reading and
 * the window kernel, so run on two cores.
 *
 *   in:  workerData { file, format, ahead }; messages: 'more' (one text taken)
 *   out: { kind: 'text', scanned, bytes } · { kind: 'end', skipped, bytes } · { kind: 'error', message }
 */
import { createReadStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { CsvScanner, type CsvFormat, type ScannedText, type Skipped } from './csv-scan.js';

export interface CsvWorkerData {
  file: string;
  format: CsvFormat;
  /** Texts posted but not yet taken at which reading pauses. */
  ahead: number;
}

export type CsvWorkerMessage =
  | { kind: 'text'; scanned: ScannedText; bytes: number }
  | { kind: 'end'; skipped: Skipped; bytes: number }
  | { kind: 'error'; message: string };

const CHUNK_BYTES = 1 << 20;
const NEWLINE = 10;

async function run(port: NonNullable<typeof parentPort>, data: CsvWorkerData): Promise<void> {
  const scanner = new CsvScanner(data.format);
  const stream = createReadStream(data.file, { highWaterMark: CHUNK_BYTES });
  let posted = 0;
  let taken = 0;
  let wake: (() => void) | null = null;
  port.on('message', () => {
    taken++;
    wake?.();
    wake = null;
  });
  const post = async (bytes: Buffer): Promise<void> => {
    while (posted - taken >= data.ahead) await new Promise<void>((resolve) => (wake = resolve));
    const scanned = scanner.scan(bytes.toString('latin1'));
    posted++;
    const out: CsvWorkerMessage = { kind: 'text', scanned, bytes: stream.bytesRead };
    const transfer: ArrayBuffer[] = [scanned.at.buffer as ArrayBuffer, scanned.ts.buffer as ArrayBuffer, scanned.sell.buffer as ArrayBuffer];
    if (scanned.count) transfer.push(scanned.count.buffer as ArrayBuffer);
    port.postMessage(out, transfer);
  };
  // Whole lines only: the part after a chunk's last newline waits for the next chunk.
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const last = chunk.lastIndexOf(NEWLINE);
    if (last < 0) {
      rest = Buffer.concat([rest, chunk]);
      continue;
    }
    await post(rest.length ? Buffer.concat([rest, chunk.subarray(0, last + 1)]) : chunk.subarray(0, last + 1));
    rest = Buffer.from(chunk.subarray(last + 1));
  }
  if (rest.length) await post(rest);
  port.postMessage({ kind: 'end', skipped: scanner.skipped, bytes: stream.bytesRead } satisfies CsvWorkerMessage);
  port.removeAllListeners('message'); // nothing left to wait for: the thread ends
}

if (parentPort) {
  const port = parentPort;
  run(port, workerData as CsvWorkerData).catch((err: unknown) => {
    port.postMessage({ kind: 'error', message: err instanceof Error ? err.message : String(err) } satisfies CsvWorkerMessage);
  });
}
