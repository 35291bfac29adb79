import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { loadEnv } from '../runtime/config.js';
import { TickworkError } from '../runtime/errors.js';
import type { Trade } from '../schemas/trade.js';

/**
 * The raw-trade archive: trades moved out of MD_TRADES into Parquet files, one per venue, symbol
 * and UTC day (`<dir>/<venue>/<SYMBOL>/<YYYY-MM-DD>.parquet`), each with a manifest beside it
 * (`<day>.json`: rows, stream sequence and trade id ranges, times, the file's SHA-256 and a
 * SHA-256 of its trades in a canonical text form, so the manifest can be checked against
 * MD_TRADES without Parquet). `manifest.json` at the top lists every day's manifest.
 * Columns: seq (MD_TRADES sequence), id, price, qty (decimal text as the venue sent it), side,
 * ts, recvTs, count, venueSymbol. Written with hyparquet-writer, read with hyparquet (pure
 * JavaScript, no install step, maintained together).
 */
export const ArchiveEnv = Type.Object({
  TICKWORK_ARCHIVE_DIR: Type.String({ default: 'archive', minLength: 1, description: 'folder of the raw-trade archive (Parquet files and manifests)' }),
  TICKWORK_ARCHIVE_CHUNK_TRADES: Type.Integer({ default: 200_000, minimum: 1, description: 'trades `tickwork archive` reads from MD_TRADES, archives and removes at a time (bounds its memory)' }),
});
export type ArchiveSettings = Static<typeof ArchiveEnv>;
export const loadArchiveSettings = (env: NodeJS.ProcessEnv): ArchiveSettings => loadEnv(ArchiveEnv, env);

/** A trade as archived: the normalized trade and its MD_TRADES sequence. */
export type ArchivedTrade = Trade & { seq: number };

export const DayManifest = Type.Object({
  v: Type.Literal(1),
  venue: Type.String(),
  symbol: Type.String(),
  day: Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' }),
  file: Type.String(),
  rows: Type.Integer({ minimum: 1 }),
  firstSeq: Type.Integer(),
  lastSeq: Type.Integer(),
  firstId: Type.String(),
  lastId: Type.String(),
  firstTs: Type.Integer(),
  lastTs: Type.Integer(),
  bytes: Type.Integer(),
  /** SHA-256 of the Parquet file's bytes. */
  sha256: Type.String(),
  /** SHA-256 of the trades in canonical text, in sequence order (`contentHash`). */
  contentSha256: Type.String(),
  writtenAt: Type.String(),
});
export type DayManifest = Static<typeof DayManifest>;
const DayManifestCheck = TypeCompiler.Compile(DayManifest);

/** `2024-01-02` of an epoch ms, UTC. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const dayStart = (day: string): number => Date.parse(`${day}T00:00:00.000Z`);

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/**
 * SHA-256 over the trades in sequence order, one canonical line each
 * (`seq id price qty side ts recvTs count venueSymbol`, tab-separated): what the manifest says the
 * file holds, comparable with the same trades read from MD_TRADES.
 */
export function contentHash(trades: readonly ArchivedTrade[]): string {
  const h = createHash('sha256');
  for (const t of [...trades].sort((a, b) => a.seq - b.seq)) {
    h.update(`${t.seq}\t${t.id}\t${t.price}\t${t.qty}\t${t.side}\t${t.ts}\t${t.recvTs}\t${t.count ?? ''}\t${t.venueSymbol}\n`);
  }
  return h.digest('hex');
}

function manifestOf(venue: string, symbol: string, day: string, trades: readonly ArchivedTrade[], bytes: Uint8Array): DayManifest {
  const bySeq = [...trades].sort((a, b) => a.seq - b.seq);
  const byTs = [...trades].sort((a, b) => a.ts - b.ts);
  return {
    v: 1,
    venue,
    symbol,
    day,
    file: `${day}.parquet`,
    rows: trades.length,
    firstSeq: bySeq[0]!.seq,
    lastSeq: bySeq[bySeq.length - 1]!.seq,
    firstId: bySeq[0]!.id,
    lastId: bySeq[bySeq.length - 1]!.id,
    firstTs: byTs[0]!.ts,
    lastTs: byTs[byTs.length - 1]!.ts,
    bytes: bytes.byteLength,
    sha256: sha256(bytes),
    contentSha256: contentHash(trades),
    writtenAt: new Date().toISOString(),
  };
}

function encode(venue: string, symbol: string, trades: readonly ArchivedTrade[]): Uint8Array {
  const rows = [...trades].sort((a, b) => a.seq - b.seq);
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'seq', data: BigInt64Array.from(rows, (t) => BigInt(t.seq)), type: 'INT64', nullable: false },
      { name: 'id', data: rows.map((t) => t.id), type: 'STRING', nullable: false },
      { name: 'price', data: rows.map((t) => t.price), type: 'STRING', nullable: false },
      { name: 'qty', data: rows.map((t) => t.qty), type: 'STRING', nullable: false },
      { name: 'side', data: rows.map((t) => t.side), type: 'STRING', nullable: false },
      { name: 'ts', data: BigInt64Array.from(rows, (t) => BigInt(t.ts)), type: 'INT64', nullable: false },
      { name: 'recvTs', data: BigInt64Array.from(rows, (t) => BigInt(t.recvTs)), type: 'INT64', nullable: false },
      { name: 'count', data: rows.map((t) => t.count ?? null), type: 'INT32' },
      { name: 'venueSymbol', data: rows.map((t) => t.venueSymbol), type: 'STRING', nullable: false },
    ],
    kvMetadata: [
      { key: 'tickwork.venue', value: venue },
      { key: 'tickwork.symbol', value: symbol },
    ],
    createdBy: 'tickwork archive',
  });
  return new Uint8Array(buf);
}

interface Row {
  seq: bigint;
  id: string;
  price: string;
  qty: string;
  side: string;
  ts: bigint;
  recvTs: bigint;
  count: number | null;
  venueSymbol: string;
}

async function decode(venue: string, symbol: string, bytes: Uint8Array): Promise<ArchivedTrade[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  parquetMetadata(file); // throws on a file that is not Parquet
  const rows = (await parquetReadObjects({ file })) as unknown as Row[];
  return rows.map((r) => ({
    venue,
    symbol,
    venueSymbol: r.venueSymbol,
    id: r.id,
    price: r.price,
    qty: r.qty,
    side: r.side === 'sell' ? 'sell' : 'buy',
    ts: Number(r.ts),
    recvTs: Number(r.recvTs),
    ...(r.count !== null && r.count !== undefined ? { count: Number(r.count) } : {}),
    seq: Number(r.seq),
  }));
}

/**
 * Writes `data` to `path` through a temporary file (fsynced) and a rename, then fsyncs the folder
 * so the rename survives a crash: a reader never sees half a file.
 */
async function atomicWrite(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data, { flush: true });
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export class TradeArchive {
  constructor(readonly dir: string) {}

  private folder(venue: string, symbol: string): string {
    return join(this.dir, venue, symbol);
  }

  /** The manifest of a day, or null when that day is not archived. */
  async manifest(venue: string, symbol: string, day: string): Promise<DayManifest | null> {
    let text: string;
    try {
      text = await readFile(join(this.folder(venue, symbol), `${day}.json`), 'utf8');
    } catch {
      return null;
    }
    const m: unknown = JSON.parse(text);
    if (!DayManifestCheck.Check(m)) throw new TickworkError('ARCHIVE_INVALID', `${venue}/${symbol}/${day}.json is not a day manifest`);
    return m;
  }

  /** Days archived for a venue+symbol, oldest first. */
  async days(venue: string, symbol: string): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.folder(venue, symbol));
    } catch {
      return [];
    }
    return names.filter((n) => /^\d{4}-\d{2}-\d{2}\.json$/.test(n)).map((n) => n.slice(0, 10)).sort();
  }

  /**
   * A day's trades, verified: the file's SHA-256, its rows and the SHA-256 of its trades must be
   * those of its manifest (ARCHIVE_INVALID otherwise). Empty when the day is not archived.
   */
  async readDay(venue: string, symbol: string, day: string): Promise<ArchivedTrade[]> {
    const m = await this.manifest(venue, symbol, day);
    if (!m) return [];
    const path = join(this.folder(venue, symbol), m.file);
    const bytes = new Uint8Array(await readFile(path));
    if (sha256(bytes) !== m.sha256) throw new TickworkError('ARCHIVE_INVALID', `${path}: SHA-256 differs from its manifest`);
    const trades = await decode(venue, symbol, bytes);
    if (trades.length !== m.rows || contentHash(trades) !== m.contentSha256) throw new TickworkError('ARCHIVE_INVALID', `${path}: its trades differ from its manifest`);
    return trades;
  }

  /**
   * Adds `trades` to a day's file (rewritten with what it held, each sequence once), then reads it
   * back and checks it against the new manifest before the manifest replaces the old one. Returns
   * the manifest and how many trades were new; a day already holding them all is left untouched.
   */
  async writeDay(venue: string, symbol: string, day: string, trades: readonly ArchivedTrade[]): Promise<{ manifest: DayManifest; added: number }> {
    const held = await this.readDay(venue, symbol, day);
    const bySeq = new Map(held.map((t) => [t.seq, t]));
    let added = 0;
    for (const t of trades) {
      if (utcDay(t.ts) !== day) throw new TickworkError('ARCHIVE_INVALID', `trade ${t.id} at ${new Date(t.ts).toISOString()} is not of ${day}`);
      if (!bySeq.has(t.seq)) {
        bySeq.set(t.seq, t);
        added++;
      }
    }
    const existing = await this.manifest(venue, symbol, day);
    if (added === 0 && existing) return { manifest: existing, added };
    const all = [...bySeq.values()];
    const folder = this.folder(venue, symbol);
    await mkdir(folder, { recursive: true });
    const bytes = encode(venue, symbol, all);
    const manifest = manifestOf(venue, symbol, day, all, bytes);
    await atomicWrite(join(folder, manifest.file), bytes);
    // Read back what is on disk: the manifest is written only for a file that holds these trades.
    const back = await decode(venue, symbol, new Uint8Array(await readFile(join(folder, manifest.file))));
    if (back.length !== manifest.rows || contentHash(back) !== manifest.contentSha256) {
      throw new TickworkError('ARCHIVE_INVALID', `${join(folder, manifest.file)}: read back differs from what was written`);
    }
    await atomicWrite(join(folder, `${day}.json`), `${JSON.stringify(manifest, null, 2)}\n`);
    return { manifest, added };
  }

  /** Rewrites `manifest.json`: every day manifest of the archive, by venue, symbol and day. */
  async writeIndex(): Promise<DayManifest[]> {
    const all: DayManifest[] = [];
    let venues: string[] = [];
    try {
      venues = (await readdir(this.dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    } catch {
      return all;
    }
    for (const venue of venues) {
      const symbols = (await readdir(join(this.dir, venue), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
      for (const symbol of symbols) for (const day of await this.days(venue, symbol)) all.push((await this.manifest(venue, symbol, day))!);
    }
    await atomicWrite(join(this.dir, 'manifest.json'), `${JSON.stringify({ v: 1, days: all }, null, 2)}\n`);
    return all;
  }

  /**
   * Pages of archived trades of a venue+symbol with `fromMs ≤ ts < toMs`, a day at a time in
   * (ts, seq) order, each day verified against its manifest first.
   */
  async *trades(venue: string, symbol: string, fromMs: number, toMs: number): AsyncGenerator<Trade[]> {
    for (const day of await this.days(venue, symbol)) {
      const start = dayStart(day);
      if (start + 86_400_000 <= fromMs || start >= toMs) continue;
      const page = (await this.readDay(venue, symbol, day)).filter((t) => t.ts >= fromMs && t.ts < toMs).sort((a, b) => a.ts - b.ts || a.seq - b.seq);
      if (page.length) yield page.map(({ seq: _seq, ...t }) => t);
    }
  }
}
