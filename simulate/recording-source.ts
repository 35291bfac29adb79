import { existsSync } from 'node:fs';
import { TickworkError } from '../runtime/errors.js';
import { readRecording } from '../runtime/recording.js';

/** A recorded WebSocket connection, loaded once and replayed to every client. */
export interface Recording {
  /** URL the recorder connected to. */
  url: string | null;
  /** Frames the recorder RECEIVED, in order, text exactly as recorded; `ts` epoch ms. */
  frames: Array<{ ts: number; data: string }>;
  /** REST bodies from the sibling `NAME.0`, by path+query and by path alone (first recorded wins). */
  rest: Map<string, string>;
}

/** `restPath`: the REST companion (`--rest-recording`); default the recording's sibling `NAME.0` when it exists. */
export async function loadRecording(path: string, restPath?: string): Promise<Recording> {
  if (!existsSync(path)) throw new TickworkError('FILE_NOT_FOUND', `--recording ${path}: no such file`);
  const frames: Recording['frames'] = [];
  let url: string | null = null;
  for await (const line of readRecording(path)) {
    if (line.kind === 'received') frames.push({ ts: line.ts, data: line.data });
    else if (line.kind === 'open' && url === null) url = line.url;
  }
  const rest = new Map<string, string>();
  if (restPath !== undefined && !existsSync(restPath)) throw new TickworkError('FILE_NOT_FOUND', `--rest-recording ${restPath}: no such file`);
  const sibling = path.replace(/\.ws\.\d+\.0$/, '.0');
  const restFile = restPath ?? (sibling !== path && existsSync(sibling) ? sibling : null);
  if (restFile !== null) {
    for await (const line of readRecording(restFile)) {
      if (line.kind !== 'rest') continue;
      let u: URL;
      try {
        u = new URL(line.url);
      } catch {
        continue;
      }
      if (!rest.has(u.pathname + u.search)) rest.set(u.pathname + u.search, line.data);
      if (!rest.has(u.pathname)) rest.set(u.pathname, line.data);
    }
  }
  return { url, frames, rest };
}
