import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * Reader for the recording line format of `../shared/data/README.md`:
 *   `<url> <-> <secs>`          connection opened
 *   `<url> <- <secs>: <json>`   frame the client sent
 *   `<secs>: <json>`            frame the client received
 *   `<url> -> <secs>: <body>`   REST response (NAME.0 files)
 */
export type RecordingLine =
  | { kind: 'open'; url: string; ts: number; line: number }
  | { kind: 'sent'; url: string; ts: number; data: string; line: number }
  | { kind: 'received'; ts: number; data: string; line: number }
  | { kind: 'rest'; url: string; ts: number; data: string; line: number };

const OPEN = /^(\S+) <-> (\d+(?:\.\d+)?)$/;
const SENT = /^(\S+) <- (\d+(?:\.\d+)?): (.*)$/s;
const REST = /^(\S+) -> (\d+(?:\.\d+)?): (.*)$/s;
const RECV = /^(\d+(?:\.\d+)?): (.*)$/s;

/** Parses one line; `ts` is epoch milliseconds (fractional part kept). Returns null for blank or unknown lines. */
export function parseRecordingLine(text: string, line = 0): RecordingLine | null {
  let m = RECV.exec(text);
  if (m) return { kind: 'received', ts: Number(m[1]) * 1000, data: m[2]!, line };
  m = SENT.exec(text);
  if (m) return { kind: 'sent', url: m[1]!, ts: Number(m[2]) * 1000, data: m[3]!, line };
  m = REST.exec(text);
  if (m) return { kind: 'rest', url: m[1]!, ts: Number(m[2]) * 1000, data: m[3]!, line };
  m = OPEN.exec(text);
  if (m) return { kind: 'open', url: m[1]!, ts: Number(m[2]) * 1000, line };
  return null;
}

/** Streams a recording file line by line (files reach several MB; never load them whole twice). */
export async function* readRecording(path: string): AsyncGenerator<RecordingLine> {
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const text of rl) {
    n++;
    const parsed = parseRecordingLine(text, n);
    if (parsed) yield parsed;
  }
}

/** Location of the shared recordings beside the checkout, or the override in TICKWORK_RECORDINGS. */
export function recordingsDir(): string {
  return process.env.TICKWORK_RECORDINGS ?? new URL('../../shared/data/recordings/', import.meta.url).pathname;
}
