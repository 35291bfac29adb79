import { TickworkError } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import type { Namespace } from '../runtime/namespace.js';
import { StreamSource, type NatsHandles } from '../runtime/nats/index.js';
import { startProcess } from '../runtime/process.js';
import { STREAMS } from '../schemas/subjects.js';
import { TradeCheck, type Trade } from '../schemas/trade.js';
import { AppliedStateReader } from '../store/applied-state.js';
import { contentHash, loadArchiveSettings, TradeArchive, utcDay, type ArchivedTrade } from '../store/trade-archive.js';

export interface ArchiveArgs {
  /** Trades whose UTC day ended at least this long ago are archived (whole days only). */
  olderThanMs: number;
  /** Only these venues (default: every venue in MD_TRADES). */
  venues?: string[];
  /** Only these canonical symbols (default: all). */
  symbols?: string[];
  /** Write and verify the files, purge nothing. */
  keep?: boolean;
  archiveDir?: string;
}

export interface DayArchived {
  day: string;
  /** Trades of the day read from MD_TRADES in this run. */
  read: number;
  /** Of those, trades the day's file did not hold yet. */
  added: number;
  /** Rows of the day's file, after this run. */
  rows: number;
}

export interface SymbolArchived {
  venue: string;
  symbol: string;
  days: DayArchived[];
  /** Messages removed from MD_TRADES: by one purge of the subject below a sequence, and one by one. */
  purged: number;
  deleted: number;
  /** Chunks read (each TICKWORK_ARCHIVE_CHUNK_TRADES trades, plus at most one read batch of up to 2,000). */
  chunks: number;
  /** Archived trades left in MD_TRADES, and why. */
  kept: number;
  keptReason?: string;
}

export interface ArchiveReport {
  /** Trades with ts before this (a UTC midnight) were archived. */
  cutoff: string;
  dir: string;
  symbols: SymbolArchived[];
  warnings: string[];
}

const DAY = 86_400_000;

/** `7d`, `36h`, `90m`: a duration in ms; USAGE_INVALID otherwise. */
export function parseOlderThan(v: string): number {
  const m = /^(\d+)(d|h|m)$/.exec(v.trim());
  if (!m) throw new TickworkError('USAGE_INVALID', `--older-than ${JSON.stringify(v)}: expected a duration such as 7d, 36h or 90m`);
  return Number(m[1]) * { d: DAY, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
}

/** The first instant not archived: the UTC midnight at or before `now − olderThan`. */
export const archiveCutoff = (now: number, olderThanMs: number): number => Math.floor((now - olderThanMs) / DAY) * DAY;

/**
 * `tickwork archive --older-than 7d`: moves raw trades out of MD_TRADES into the trade archive
 * (store/trade-archive.ts: Parquet per venue, symbol and UTC day, with manifests). Per subject,
 * a chunk of TICKWORK_ARCHIVE_CHUNK_TRADES trades at a time (bounded memory):
 * 1. reads its trades (an ordered consumer, nothing left behind) and keeps those of whole UTC days
 *    before the cutoff, grouped by day;
 * 2. writes each day's file (merged with what it held), fsynced, read back and checked against its
 *    manifest; then reads the file again and checks that every trade read from the stream is in it,
 *    field for field — only those sequences may leave the stream;
 * 3. removes from MD_TRADES only verified sequences that the symbol actor's snapshot has applied
 *    (the worker's catch-up reads from there), and never the subject's last message (a feed seeds
 *    its gap tracker and backfill its seam from it): the longest such prefix of the subject by one
 *    purge `{ filter: subject, seq }` (exact: it removes the subject's messages below `seq`, all of
 *    them read and verified — a message that failed the trade check stops the prefix), the rest
 *    (archived trades behind newer ones, e.g. history replayed after live data) by per-message
 *    delete. A symbol without a snapshot keeps everything.
 * Idempotent: a re-run reads nothing new for purged days, and a day whose file holds every trade
 * read is left as it is (its file and manifest untouched). Prints one JSON line.
 */
export async function runArchive(args: ArchiveArgs, base: NodeJS.ProcessEnv = process.env): Promise<ArchiveReport> {
  if (!(args.olderThanMs >= DAY)) throw new TickworkError('USAGE_INVALID', '--older-than must be at least 1d: only whole UTC days that have ended are archived');
  const dir = args.archiveDir ?? loadArchiveSettings(base).TICKWORK_ARCHIVE_DIR;
  const archive = new TradeArchive(dir);
  const chunk = loadArchiveSettings(base).TICKWORK_ARCHIVE_CHUNK_TRADES;
  const ctx = await startProcess({ role: 'archive', needs: ['nats', 'redis'], env: base, installSignalHandlers: true });
  try {
    const nats = ctx.nats!;
    const stream = ctx.ns.stream(STREAMS.trades);
    const cutoff = archiveCutoff(Date.now(), args.olderThanMs);
    const log = ctx.log.child({ stream, cutoff: new Date(cutoff).toISOString() });
    const info = await nats.jsm.streams.info(stream, { subjects_filter: ctx.ns.subject('md.trade.>') });
    const warnings: string[] = [];
    const maxAgeMs = Number(info.config.max_age) / 1e6;
    if (maxAgeMs > 0 && maxAgeMs <= args.olderThanMs) {
      const w = `${stream} discards messages after ${Math.round(maxAgeMs / 3_600_000)} h (max_age, TICKWORK_TRADES_MAX_AGE_MS) — not more than --older-than: live trades leave the stream before they are old enough to archive; archive more often (a smaller --older-than) or raise TICKWORK_TRADES_MAX_AGE_MS`;
      warnings.push(w);
      log.warn({ maxAgeMs, olderThanMs: args.olderThanMs }, w);
    }
    const applied = new AppliedStateReader(ctx.redis!, ctx.ns);
    const out: SymbolArchived[] = [];
    for (const subject of Object.keys(info.state.subjects ?? {}).sort()) {
      if (ctx.lifecycle.isStopping) break;
      const parts = ctx.ns.unsubject(subject).split('.'); // md.trade.<venue>.<symbol>
      const [venue, symbol] = [parts[2]!, parts.slice(3).join('.')];
      if (args.venues && !args.venues.includes(venue)) continue;
      if (args.symbols && !args.symbols.includes(symbol)) continue;
      const res = await archiveSubject({ nats, ns: ctx.ns, log: log.child({ venue, symbol }), archive, applied, stream, subject, venue, symbol, cutoff, keep: args.keep === true, chunk });
      if (res) out.push(res);
    }
    if (out.some((s) => s.days.some((d) => d.added > 0))) await archive.writeIndex();
    const report: ArchiveReport = { cutoff: new Date(cutoff).toISOString(), dir, symbols: out, warnings };
    log.info({ symbols: out.length, days: out.reduce((n, s) => n + s.days.length, 0), purged: out.reduce((n, s) => n + s.purged + s.deleted, 0) }, 'archive done');
    process.stdout.write(`${JSON.stringify({ archive: report })}\n`);
    return report;
  } finally {
    await ctx.lifecycle.shutdown();
  }
}

async function archiveSubject(job: {
  nats: NatsHandles;
  ns: Namespace;
  log: Logger;
  archive: TradeArchive;
  applied: AppliedStateReader;
  stream: string;
  subject: string;
  venue: string;
  symbol: string;
  cutoff: number;
  keep: boolean;
  chunk: number;
}): Promise<SymbolArchived | null> {
  const { nats, log, archive, stream, subject, venue, symbol } = job;
  const last = await nats.jsm.streams.getMessage(stream, { last_by_subj: subject }).catch(() => null);
  if (!last) return null;
  // The applied state is read before the stream: what it says was applied stays applied.
  const state = await job.applied.load(venue, symbol);
  const result: SymbolArchived = { venue, symbol, days: [], chunks: 0, purged: 0, deleted: 0, kept: 0 };
  const days = new Map<string, DayArchived>();
  const ctx: Chunked = { firstKept: last.seq, lastSeq: last.seq, unapplied: false };
  // A chunk of at most `chunk` trades at a time (memory stays bounded on a long stream); each is
  // archived and removed before the next is read.
  for (let after = 0; after < last.seq; ) {
    const read = await readChunk(job, after, last.seq, ctx);
    if (read.endSeq <= after) {
      log.warn({ after, lastSeq: last.seq }, 'MD_TRADES delivered nothing more before the subject\'s last message; stopping here');
      break;
    }
    after = read.endSeq;
    result.chunks++;
    if (read.byDay.size === 0) continue;
    const verified: number[] = [];
    for (const day of [...read.byDay.keys()].sort()) {
      const trades = read.byDay.get(day)!;
      const { manifest, added } = await archive.writeDay(venue, symbol, day, trades);
      // What leaves the stream must be in the file as it was read: read the file back (readDay
      // checks its SHA-256 and content hash against the manifest) and compare trade for trade.
      const inFile = new Map((await archive.readDay(venue, symbol, day)).map((t) => [t.seq, t]));
      for (const t of trades) {
        const f = inFile.get(t.seq);
        if (!f || contentHash([f]) !== contentHash([t])) {
          throw new TickworkError('ARCHIVE_INVALID', `${venue}/${symbol}/${day}: trade ${t.id} (MD_TRADES sequence ${t.seq}) is not in the archived file as read; nothing more of this symbol was removed from the stream`);
        }
        verified.push(t.seq);
      }
      const d = days.get(day) ?? { day, read: 0, added: 0, rows: 0 };
      days.set(day, { day, read: d.read + trades.length, added: d.added + added, rows: manifest.rows });
      log.info({ day, read: trades.length, added, rows: manifest.rows, sha256: manifest.sha256 }, 'day archived');
    }
    await removeVerified(job, state, verified, read.endSeq, ctx, result);
  }
  if (days.size === 0) return null;
  result.days = [...days.keys()].sort().map((d) => days.get(d)!);
  if (result.kept) {
    result.keptReason = job.keep ? '--keep' : !state ? 'no snapshot of the symbol actor' : ctx.unapplied ? `not applied by the worker yet (snapshot at sequence ${state.seq})` : "the subject's last message";
  }
  if (!state && !job.keep) log.warn({ archived: result.kept }, 'no snapshot of this symbol: its worker has not applied these trades as far as we know; left in MD_TRADES');
  log.info({ purged: result.purged, deleted: result.deleted, kept: result.kept }, 'archived trades removed from MD_TRADES');
  return result;
}

interface Chunked {
  /** Lowest sequence that must stay: a trade not archived, or a message that is not a trade (across chunks: it only goes down). */
  firstKept: number;
  lastSeq: number;
  /** Some archived trade was past the snapshot. */
  unapplied: boolean;
}

/** Up to `chunk` trades of the subject after `after` (and up to `lastSeq`), those before the cutoff by day. */
async function readChunk(
  job: { nats: NatsHandles; log: Logger; stream: string; subject: string; venue: string; symbol: string; cutoff: number; chunk: number },
  after: number,
  lastSeq: number,
  ctx: Chunked,
): Promise<{ byDay: Map<string, ArchivedTrade[]>; endSeq: number }> {
  const { venue, symbol, cutoff } = job;
  const byDay = new Map<string, ArchivedTrade[]>();
  let endSeq = after;
  let n = 0;
  const source = await StreamSource.open<Trade>({
    nats: job.nats,
    stream: job.stream,
    filter: job.subject,
    start: { afterSeq: after },
    check: TradeCheck,
    maxBatch: Math.min(2000, job.chunk),
    name: 'archive',
    log: job.log,
    onInvalid: (why) => {
      const seq = Number(/@(\d+)$/.exec(why.source ?? '')?.[1] ?? 0);
      ctx.firstKept = Math.min(ctx.firstKept, seq);
    },
  });
  try {
    for await (const batch of source) {
      for (const { seq, value } of batch.items) {
        if (seq > lastSeq) break;
        if (value.ts < cutoff && value.venue === venue && value.symbol === symbol) {
          const day = utcDay(value.ts);
          let list = byDay.get(day);
          if (!list) byDay.set(day, (list = []));
          list.push({ ...value, seq });
        } else ctx.firstKept = Math.min(ctx.firstKept, seq);
      }
      n += batch.items.length;
      // Everything of the subject up to endSeq has been seen (what is purged stays below it).
      endSeq = Math.min(batch.lastSeq, lastSeq);
      if (endSeq >= lastSeq || n >= job.chunk) break;
    }
  } finally {
    await source.close();
  }
  return { byDay, endSeq };
}

/**
 * Removes verified sequences (all ≤ `endSeq`, everything of the subject up to there read) that the
 * snapshot applied, never the subject's last message: the prefix below the first kept message by
 * one purge, the rest one by one.
 */
async function removeVerified(
  job: { nats: NatsHandles; log: Logger; stream: string; subject: string; keep: boolean },
  state: { seq: number } | null,
  verified: readonly number[],
  endSeq: number,
  ctx: Chunked,
  result: SymbolArchived,
): Promise<void> {
  if (job.keep || !state) {
    result.kept += verified.length;
    return;
  }
  const limit = Math.min(state.seq + 1, ctx.lastSeq, ctx.firstKept, endSeq + 1);
  const prefix = verified.filter((s) => s < limit);
  const rest = verified.filter((s) => s >= limit && s <= state.seq && s !== ctx.lastSeq);
  if (verified.some((s) => s > state.seq)) ctx.unapplied = true;
  if (prefix.length) {
    const r = await job.nats.jsm.streams.purge(job.stream, { filter: job.subject, seq: limit });
    result.purged += r.purged;
    if (r.purged !== prefix.length) job.log.warn({ purged: r.purged, expected: prefix.length }, 'purge removed another number of messages than were archived below its sequence (max_age at work?)');
  }
  for (const seq of rest) if (await job.nats.jsm.streams.deleteMessage(job.stream, seq, false).catch(() => false)) result.deleted++;
  result.kept += verified.length - prefix.length - rest.length;
}
