import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readRecording, recordingsDir } from '../../runtime/recording.js';

/** A frame the recorder received: its text and receipt time (epoch ms, fraction kept). */
export interface RecordedFrame {
  data: string;
  ts: number;
  line: number;
}

/**
 * The received frames of one shared recording (`../shared/data/recordings/`), in arrival order.
 * Fails with a clear message when the folder is missing: these tests must never pass silently.
 */
export async function receivedFrames(file: string): Promise<RecordedFrame[]> {
  const path = join(recordingsDir(), file);
  if (!existsSync(path)) {
    throw new Error(`recording ${path} is missing: the book tests need ../shared/data/recordings beside the checkout (or TICKWORK_RECORDINGS)`);
  }
  const frames: RecordedFrame[] = [];
  for await (const l of readRecording(path)) if (l.kind === 'received') frames.push({ data: l.data, ts: l.ts, line: l.line });
  return frames;
}
