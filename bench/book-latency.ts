/**
 * Book path latency (issue 13): from a book delta frame off the socket to the Redis write holding
 * its change, acknowledged; target p99 ≤ 10 ms at 2,000 book frames/s over 50 symbols.
 *
 *   node --import tsx bench/book-latency.ts [--rate 2000] [--symbols 50] [--seconds 20] [--warmup 5]
 *
 * The whole live path on this machine: a `tickwork simulate --venue bybit` child process sends
 * `orderbook.50` deltas from its true book (one per market event; every event moves a top of book,
 * so every frame is written to Redis at once rather than within the 100 ms throttle); this process
 * runs a BookFeed (the supervised feed connection, adapter, Bybit book sync, BookPublisher) on real
 * NATS (md.book events, MD_BOOKS, book quotes into MD_QUOTES) and Redis. The latency is taken when
 * the pipeline that wrote the book is acknowledged, against the frame's receipt time (whole ms, so
 * a figure is at most 1 ms high). Both processes share the machine's cores.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { loadBookConfig } from '../actors/feed/book-config.js';
import { BookFeed } from '../actors/feed/book-feed.js';
import { loadFeedConfig } from '../actors/feed/config.js';
import { ensureMarketStreams, loadStreamsConfig } from '../app/streams.js';
import { createLogger } from '../runtime/logger.js';
import { Namespace } from '../runtime/namespace.js';
import { connectNats } from '../runtime/nats/index.js';
import { connectRedis } from '../runtime/redis.js';
import { BookStore } from '../store/books.js';
import { venueById } from '../venues/index.js';
import { preciseNow, quantile, sleep, waitUntil } from './stats.js';

export interface BookLatencyOptions {
  /** Book frames per second across all symbols (default 2,000). */
  rate?: number;
  symbols?: number;
  /** Measured seconds (default 20), after `warmup` seconds (default 5). */
  seconds?: number;
  warmup?: number;
}

export interface BookLatencyResult {
  framesPerSec: number;
  symbols: number;
  frames: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Redis writes (pipelines) per second. */
  writesPerSec: number;
  /** CPU time of this process (feed side: socket, parse, sync, NATS, Redis) per frame, µs. */
  cpuUsPerFrame: number;
  /** Load average of the machine at the end (the simulator and other work share its cores). */
  load: number;
  /** p99 event-loop delay of the feed process while measuring, ms (how long a ready callback waited). */
  loopDelayP99Ms: number;
}

const repo = new URL('..', import.meta.url);

export async function runBookLatencyBench(opts: BookLatencyOptions = {}): Promise<BookLatencyResult> {
  const rate = opts.rate ?? 2000;
  const n = opts.symbols ?? 50;
  const seconds = opts.seconds ?? 20;
  const warmup = opts.warmup ?? 5;
  const symbols = Array.from({ length: n }, (_, i) => `B${String(i).padStart(2, '0')}-USDT`);
  // events per second = trades (one fill each without bursts) + quotes (half of them by default)
  const child = spawn(
    process.execPath,
    ['bin/tickwork.js', 'simulate', '--venue', 'bybit', '--symbols', symbols.join(','), '--rate', String(Math.round(rate / 1.5)), '--burstiness', '0', '--limits', 'none'],
    { cwd: repo, env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const ready = await new Promise<{ env: Record<string, string> }>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const line = out.split('\n').find((l) => l.includes('simulate.ready'));
      if (line) resolve(JSON.parse(line) as { env: Record<string, string> });
    });
    child.once('exit', (code) => reject(new Error(`simulator exited (${code}) before it was ready`)));
  });

  const ns = new Namespace(`bench${randomBytes(4).toString('hex')}`);
  const env = { ...process.env, ...ready.env, TICKWORK_NAMESPACE: ns.id, TICKWORK_VENUES: 'bybit', TICKWORK_BOOKS: '1', TICKWORK_STREAM_STORAGE: 'memory' };
  const nats = await connectNats(process.env.NATS_URL ?? 'nats://127.0.0.1:4222', 'bench-books');
  const redis = connectRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 'bench-books');
  await ensureMarketStreams(nats.jsm, ns, loadStreamsConfig(env));
  let measuring = false;
  const latencies: number[] = [];
  let frames = 0;
  let writes = 0;
  const feed = new BookFeed({
    venue: venueById('bybit'),
    feed: loadFeedConfig(env),
    cfg: loadBookConfig(env),
    nats,
    ns,
    cache: new BookStore(redis, ns),
    log: createLogger('warn', { bench: 'book-latency' }),
    onCached: (recvTs) => {
      if (!measuring) return;
      const now = preciseNow();
      writes++;
      for (const r of recvTs) latencies.push(now - r);
      frames += recvTs.length;
    },
  });
  try {
    await feed.subscribe(symbols);
    await waitUntil('every book live', () => (feed.health().every((h) => h.state === 'live') && feed.health().length === n ? true : undefined), 60_000);
    await sleep(warmup * 1000);
    measuring = true;
    const t0 = preciseNow();
    const cpu0 = process.cpuUsage();
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    await sleep(seconds * 1000);
    measuring = false;
    const cpu = process.cpuUsage(cpu0);
    loop.disable();
    const elapsed = (preciseNow() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      framesPerSec: frames / elapsed,
      symbols: n,
      frames,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      p999Ms: quantile(latencies, 0.999),
      maxMs: latencies[latencies.length - 1] ?? Number.NaN,
      writesPerSec: writes / elapsed,
      cpuUsPerFrame: frames > 0 ? (cpu.user + cpu.system) / frames : Number.NaN,
      load: loadavg()[0]!,
      loopDelayP99Ms: loop.percentile(99) / 1e6,
    };
  } finally {
    await feed.stop();
    child.kill('SIGTERM');
    for await (const name of nats.jsm.streams.names()) if (name.startsWith(ns.stream(''))) await nats.jsm.streams.delete(name).catch(() => undefined);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${ns.key('')}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    await redis.quit();
    await nats.nc.close();
  }
}

function arg(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await runBookLatencyBench({ rate: arg('rate'), symbols: arg('symbols'), seconds: arg('seconds'), warmup: arg('warmup') });
  const ms = (x: number) => x.toFixed(2);
  console.log(`book frame -> Redis book: ${Math.round(r.framesPerSec)} frames/s over ${r.symbols} symbols (${r.frames} frames measured), ${Math.round(r.writesPerSec)} Redis pipelines/s`);
  console.log(`latency ms: p50 ${ms(r.p50Ms)}, p99 ${ms(r.p99Ms)}, p99.9 ${ms(r.p999Ms)}, max ${ms(r.maxMs)} (target p99 <= 10 ms)`);
  console.log(`feed process CPU ${Math.round(r.cpuUsPerFrame)} µs per frame; event-loop delay p99 ${ms(r.loopDelayP99Ms)} ms; load average ${r.load.toFixed(1)}`);
  process.exit(0);
}
