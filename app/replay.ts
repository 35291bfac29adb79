import { stat } from 'node:fs/promises';
import { Presets, SingleBar } from 'cli-progress';
import { Type } from '@sinclair/typebox';
import { FeedStats } from '../actors/feed/metrics.js';
import { MarketPublisher, type PublishCallback } from '../actors/feed/publisher.js';
import { AppliedFilter } from '../actors/replay/applied.js';
import { progressLine, ReplayProgress, tickProgress, type ProgressView } from '../actors/replay/progress.js';
import { openReplay, type ReplayFormat } from '../actors/replay/sources.js';
import { WorkerEnv } from '../actors/symbol/config.js';
import { sleep } from '../runtime/backoff.js';
import { loadEnv } from '../runtime/config.js';
import { TickworkError } from '../runtime/errors.js';
import { loadPublishConfig, PipelinedPublisher } from '../runtime/nats/index.js';
import { startProcess } from '../runtime/process.js';
import type { Trade } from '../schemas/trade.js';
import { AppliedStateReader } from '../store/applied-state.js';
import { venueById } from '../venues/index.js';
import { ensureMarketStreams, loadStreamsConfig } from './streams.js';

export interface ReplayArgs {
  file: string;
  format: ReplayFormat;
  venue: string;
  symbol?: string;
  /** Playback speed: Infinity = as fast as JetStream takes them. */
  speed: number;
  /** Route trades older than a symbol's applied state to the batch path instead of refusing them. */
  toBatch?: boolean;
}

/** The JSON line `tickwork replay` prints on stdout (and returns). */
export interface ReplaySummary {
  /** Stored in MD_TRADES by this run. */
  published: number;
  /** Already in MD_TRADES (Nats-Msg-Id within the duplicate window). */
  duplicates: number;
  /** Not sent: the symbol's snapshot already holds these trade ids. */
  alreadyApplied: number;
  /** Refused: older than what their symbol applied (the live path would not build their candles). */
  tooOld: number;
  /** Lines that are not trades. */
  skipped: number;
  /** Published and not stored (JetStream did not answer within the hold). */
  lost: number;
  /** Stored after a later trade of the same symbol (a retry the server took late; the worker tolerates it). */
  reordered: number;
  /** Bytes of the file not read (stopped early). */
  remainingBytes: number;
  /** Everything read and stored, nothing refused or lost. */
  complete: boolean;
}

/** The worker's grace, read the way the worker reads it: trades within it of a symbol's last one still land in open bars. */
const ReplayEnv = Type.Object({ TICKWORK_GRACE_MS: WorkerEnv.properties.TICKWORK_GRACE_MS });

/** A non-TTY run logs its progress this often. */
const LOG_EVERY_MS = 5_000;

/**
 * `tickwork replay`: a file's trades into MD_TRADES through the feeds' publisher (same subjects
 * and Nats-Msg-Ids as a live feed, so a replay of what a feed already stored is deduplicated).
 * It says what happened: trades a symbol's snapshot already holds are passed over, trades older
 * than what it applied are refused (the live path would drop them), a server that does not come
 * back within TICKWORK_PUBLISH_HOLD_MS loses the trades in flight, Ctrl-C stops reading and waits
 * for the PubAcks; each of these ends with the summary line and a non-zero exit, and running the
 * same command again completes the job. Prints one JSON line of counts on stdout.
 */
export async function runReplay(args: ReplayArgs, base: NodeJS.ProcessEnv = process.env): Promise<ReplaySummary> {
  if (args.toBatch) {
    throw new TickworkError('USAGE_INVALID', '--to-batch: the batch path (tickwork backfill --source file) is not in this build; without --to-batch, trades older than what a symbol applied are refused and counted');
  }
  const size = await fileSize(args.file);
  const venue = venueById(args.venue);
  if (args.format !== 'recording' && !args.symbol) throw new TickworkError('USAGE_INVALID', `--symbol is required for ${args.format} (the dumps carry no symbol column)`);
  const streams = loadStreamsConfig(base);
  const { TICKWORK_GRACE_MS: graceMs } = loadEnv(ReplayEnv, base);
  const { TICKWORK_PUBLISH_HOLD_MS: holdMs } = loadPublishConfig(base);
  const ctx = await startProcess({ role: 'replay', needs: ['nats', 'redis'], env: base, installSignalHandlers: false });
  const { log } = ctx;
  const nats = ctx.nats!;
  const pipelined = new PipelinedPublisher(nats, { maxInFlight: 4096, holdMs, name: 'replay' });
  let stop: 'signal' | 'lost' | null = null;
  let summary: ReplaySummary | null = null;
  const progress = new ReplayProgress(size, () => performance.now());
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop === 'signal') {
      // Second Ctrl-C: leave now, saying what is known.
      process.stdout.write(`${JSON.stringify(summarize(progress, 0, size, false, pipelined.stats.reordered))}\n`);
      process.stderr.write(`tickwork: replay interrupted twice: ${progress.view().inFlight} trades were still waiting for their PubAck\n`);
      process.exit(1);
    }
    stop ??= 'signal';
    log.warn({ signal, inFlight: pipelined.inFlight }, 'stopping: no more trades are read; waiting for the PubAcks in flight (again to quit now)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await ensureMarketStreams(nats.jsm, ctx.ns, streams, log);
    const source = openReplay({ file: args.file, format: args.format, venue: venue.id, adapter: venue.createAdapter(), ...(args.symbol ? { symbol: args.symbol.toUpperCase() } : {}) });
    const publisher = new MarketPublisher(pipelined, ctx.ns, new FeedStats(venue.id));
    const reader = new AppliedStateReader(ctx.redis!, ctx.ns);
    const filter = new AppliedFilter((v, s) => reader.load(v, s), graceMs);
    const tooOld = new Map<string, { count: number; first: number; last: number }>();
    let firstLoss: unknown = null;
    const onStored: PublishCallback = (err, r) => {
      if (r) {
        if (r.duplicate) progress.duplicates++;
        else progress.stored++;
        return;
      }
      progress.lost++;
      firstLoss ??= err;
      // The trades after a lost one would land after it in a re-run: stop here, flush, say so.
      stop ??= 'lost';
    };
    const view = renderer(size, log);
    const ticker = tickProgress(progress, view.render);
    const started = performance.now();
    let firstTs: number | null = null;
    try {
      for await (const t of source.trades) {
        if (stop) break;
        progress.bytesRead = source.bytes();
        progress.read++;
        const v = filter.classify(t);
        const verdict = typeof v === 'string' ? v : await v;
        if (verdict === 'applied') {
          progress.applied++;
          continue;
        }
        if (verdict === 'too-old') {
          progress.tooOld++;
          noteTooOld(tooOld, t);
          continue;
        }
        if (args.speed !== Infinity) {
          firstTs ??= t.ts;
          const due = started + (t.ts - firstTs) / args.speed;
          const wait = due - performance.now();
          if (wait > 0) await sleep(wait);
        }
        if (!publisher.hasRoom) await publisher.room();
        publisher.trade(t, onStored);
        progress.published++;
      }
      if (!stop) progress.bytesRead = size;
    } finally {
      source.close();
      await publisher.flush();
      ticker.stop();
      view.finish();
    }
    summary = summarize(progress, source.skipped.count, size, stop === null, pipelined.stats.reordered);
    const ms = Math.round(performance.now() - started);
    if (source.skipped.count) log.warn({ examples: source.skipped.examples }, 'lines skipped');
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    const problems: string[] = [];
    for (const [symbol, o] of tooOld) {
      const before = filter.horizons().find((h) => h.symbol === symbol)?.before;
      problems.push(
        `${o.count} trades of ${symbol} (${iso(o.first)} … ${iso(o.last)}) are older than what the worker applied${before !== undefined ? ` (before ${iso(before)})` : ''}: refused, its live candles would not include them (history goes through the batch path)`,
      );
    }
    if (summary.lost) {
      problems.push(`${summary.lost} trades lost: JetStream did not store them within TICKWORK_PUBLISH_HOLD_MS (${holdMs} ms) (${(firstLoss as Error)?.message ?? 'no PubAck'}); run the same replay again to complete it`);
    } else if (stop === 'signal') {
      problems.push(`interrupted: ${summary.published} trades published, ${(summary.remainingBytes / 1_048_576).toFixed(1)} MB of the file not read; run the same replay again to complete it`);
    }
    if (problems.length) {
      log.warn({ file: args.file, ...summary, ms }, 'replay incomplete');
      throw new TickworkError('JOB_INCOMPLETE', `replay incomplete: ${problems.join('; ')}`);
    }
    log.info({ file: args.file, ...summary, ms }, 'replay done');
    return summary;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    pipelined.close();
    await ctx.lifecycle.shutdown();
  }
}

function summarize(p: ReplayProgress, skipped: number, size: number, readAll: boolean, reordered: number): ReplaySummary {
  const remainingBytes = readAll ? 0 : Math.max(0, size - p.bytesRead);
  return {
    published: p.stored,
    duplicates: p.duplicates,
    alreadyApplied: p.applied,
    tooOld: p.tooOld,
    skipped,
    lost: p.lost,
    reordered,
    remainingBytes,
    complete: readAll && p.lost === 0 && p.tooOld === 0 && p.published === p.stored + p.duplicates,
  };
}

function noteTooOld(byKey: Map<string, { count: number; first: number; last: number }>, t: Trade): void {
  const key = `${t.venue}:${t.symbol}`;
  const o = byKey.get(key);
  if (o === undefined) byKey.set(key, { count: 1, first: t.ts, last: t.ts });
  else {
    o.count++;
    if (t.ts < o.first) o.first = t.ts;
    if (t.ts > o.last) o.last = t.ts;
  }
}

/** A bar on a terminal (bytes read, trades acknowledged), else a log line every few seconds. */
function renderer(size: number, log: { info(o: object, msg: string): void }): { render: (v: ProgressView) => void; finish(): void } {
  if (process.stderr.isTTY) {
    const bar = new SingleBar(
      { format: 'replay |{bar}| {percentage}% {read} | {stored} stored, {duplicates} dup, {inFlight} in flight | {rate}/s', stream: process.stderr, fps: 10 },
      Presets.shades_classic,
    );
    bar.start(size, 0, { read: '', stored: 0, duplicates: 0, inFlight: 0, rate: 0 });
    const mb = (n: number) => (n / 1_048_576).toFixed(1);
    return {
      render: (v) => bar.update(v.bytesRead, { read: `${mb(v.bytesRead)}/${mb(size)} MB`, stored: v.stored, duplicates: v.duplicates, inFlight: v.inFlight, rate: v.rate }),
      finish: () => bar.stop(),
    };
  }
  let lastLog = -Infinity;
  return {
    render: (v) => {
      if (v.elapsedMs - lastLog < LOG_EVERY_MS) return;
      lastLog = v.elapsedMs;
      log.info({ ...v }, `replay: ${progressLine(v)}`);
    },
    finish: () => undefined,
  };
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The file's size, or one friendly line when it is not there. */
async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    throw new TickworkError('FILE_NOT_FOUND', `--file ${file}: no such file`);
  }
}
