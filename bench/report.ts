import { basename } from 'node:path';
import type { WorkerEnvOverrides } from './env.js';
import type { BenchReport } from './run.js';
import { fmtFigure, type Figure } from './stats.js';

const rate = (f: Figure, unit = '') => fmtFigure(f, 0, unit);
const ms = (f: Figure) => `${f.median.toFixed(2)} ms (${f.min.toFixed(2)}–${f.max.toFixed(2)})`;
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const envText = (e: WorkerEnvOverrides) => {
  const entries = Object.entries(e);
  return entries.length ? entries.map(([k, v]) => `\`${k}=${v}\``).join(', ') : 'none (defaults)';
};

/** The targets table, as printed to stdout and at the top of the report. */
export function summaryTable(r: BenchReport): string {
  const lines = ['| target | measured (median) | met |', '|---|---|---|'];
  for (const t of r.targets) lines.push(`| ${t.target} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`);
  return lines.join('\n');
}

export function renderMarkdown(r: BenchReport): string {
  const m = r.machine;
  const v = r.versions;
  const out: string[] = [];
  const p = (...lines: string[]) => out.push(...lines, '');
  p(
    `# tickwork bench — ${r.startedAt}`,
    `Mode **${r.mode}**${r.mode === 'quick' ? ' (small sizes, benches overlapping: checks the harness, the figures are not measurements)' : ''}; ` +
      `took ${(r.durationMs / 1000).toFixed(0)} s. Every figure is the median of ${r.sizes.runs} runs with the min–max in parentheses.`,
  );
  p('## Targets', summaryTable(r));
  if (r.errors) {
    p(
      '## Failed benches',
      'These benches stopped with an error; their sections and targets are missing from this report.',
      ...Object.entries(r.errors).map(([name, err]) => `- **${name}**: \`${(err ?? '').split('\n')[0]}\``),
    );
  }
  p(
    '## Machine and versions',
    `- CPU: ${m.cpu}, ${m.cores} cores; RAM ${m.ramGiB} GiB; ${m.os}`,
    `- 1-minute load average: ${m.loadStart.toFixed(2)} at start, ${m.loadEnd?.toFixed(2) ?? '?'} at end. The machine is shared ` +
      `(NATS, Redis and PostgreSQL run on it, and other work may): with ${m.cores} cores, contention inflates latencies and ` +
      'deflates throughputs; per-CPU-second figures are the fairer per-core numbers.',
    `- Node ${v.node}; nats-server ${v.natsServer}; Redis ${v.redis}; PostgreSQL ${v.postgres} (not on the measured paths); ` +
      `tickwork ${v.tickwork} at ${v.commit}`,
    `- Packages: ${Object.entries(v.packages)
      .map(([k, x]) => `${k} ${x}`)
      .join(', ')}`,
  );
  const s = r.sizes;
  if (r.jetstream) {
    const j = r.jetstream;
    p(
      '## 1. JetStream ceiling',
      `${int(j.messages)} trade messages (${j.payloadBytes} B JSON each, Nats-Msg-Id, 100 subjects) into a namespaced file-backed MD_TRADES per run, then read back.`,
      '| path | msgs/s |',
      '|---|---|',
      `| publish, feed path (MarketPublisher: a frame's trades sent synchronously, 2,048 PubAcks in flight) | ${rate(j.publish)} |`,
      `| publish, raw (same library: core publish + Nats-Msg-Id + shared reply inbox, PubAck checked, writes batched) | ${rate(j.rawPublish)} |`,
      `| consume (ordered consumer from seq 1, as the worker) | ${rate(j.consume)} |`,
      '',
      `**Ceiling** (slower of raw publish and consume): ${int(j.ceiling)} msgs/s. The feed path reaches ` +
        `${((100 * j.publish.median) / j.rawPublish.median).toFixed(1)}% of the raw publish rate.`,
    );
  }
  if (r.e2e) {
    const e = r.e2e;
    p(
      '## 2. End-to-end',
      `Per run ${int(e.trades)} trades over ${e.symbols} fresh symbols (event times spread over the last 10 s), published as a feed does (PipelinedPublisher), into a ` +
        '`tickwork worker` child process (symbol actors → windows → Redis live state + snapshots → MD_CANDLES). Timed from the ' +
        'first publish to the `updatedAt` of the last live state holding the trades. Worker env: ' +
        `${envText(e.workerEnv)}.`,
      '| figure | trades/s |',
      '|---|---|',
      `| end to end | ${rate(e.throughput)} |`,
      `| publishing side in the same runs | ${rate(e.publish)} |`,
      `| worker alone: ${int(e.drainTrades)} stored trades worked off after SIGCONT | ${rate(e.workerDrain)} |`,
      `| worker alone, per CPU-second of the worker process | ${rate(e.workerDrainPerCpuSec)} |`,
      '',
      `Ratio to the JetStream ceiling: ${e.ratioToCeiling === null ? 'n/a (jetstream bench not run)' : `${(100 * e.ratioToCeiling).toFixed(1)}%`}` +
        (r.jetstream ? `; worker alone ${((100 * e.workerDrain.median) / r.jetstream.ceiling).toFixed(1)}%` : '') +
        `. ${int(e.closedCandles)} closed candles reached MD_CANDLES; ${e.snapshots} symbols have a snapshot.`,
    );
  }
  if (r.latency) {
    const l = r.latency;
    p(
      '## 3. Latency',
      `${int(l.rate)} trades/s over ${l.symbols} symbols for ${(l.durationMs / 1000).toFixed(0)} s per run (after ${(s.latencyWarmupMs / 1000).toFixed(1)} s unmeasured), ` +
        `${int(l.samples)} samples in the last run; achieved rate ${rate(l.achievedRate)}; the worker process used ` +
        `${fmtFigure(l.workerCpuPct, 0)} % of one core meanwhile. Worker env: ${envText(l.workerEnv)}.`,
      '| percentile | recvTs → open candle visible in Redis |',
      '|---|---|',
      `| p50 | ${ms(l.p50)} |`,
      `| p99 | ${ms(l.p99)} |`,
      `| p99.9 | ${ms(l.p999)} |`,
      `| max | ${ms(l.max)} |`,
      '',
      '**Method.** Trades are published with the raw publisher (one socket write per 2 ms slice) so the feed path\'s own limit ' +
        '(section 1) does not queue them. The instant `recvTs` is stamped is also taken with `performance.now()` (sub-ms). An ' +
        'independent reader — Redis `CLIENT TRACKING ON BCAST PREFIX <ns>:state:` redirected to a subscriber connection, plus ' +
        'a GET on a third connection — is pushed the key name on every write of a live state and reads it at once; a trade is ' +
        'visible when a state of its symbol with `tradesApplied` ≥ its ordinal is read. Resolution: sub-ms clock; every sample ' +
        `includes the push and one GET round trip (median GET ${l.readerRttMs.toFixed(3)} ms).`,
    );
  }
  if (r.kernel) {
    const k = r.kernel;
    p(
      '## 4. Window kernel vs the proof-of-concept approach',
      `Same synthetic trades (${k.symbols} symbols, 8-decimal strings) through \`SymbolWindows.apply\` (7 timeframes + 1m/5m/15m ` +
        'rolling VWAPs, exact decimals), and through nodejs-polars `group_by_dynamic` (7 timeframes) re-run on every micro-batch, ' +
        'partial bars merged into open bars. The Polars side is its cheapest form (float64, only the new batch aggregated, no ' +
        'rolling VWAPs, expressions built once), so the ratios are lower bounds.',
      '| approach | trades | trades/s (wall) | trades per CPU-second |',
      '|---|---|---|---|',
      `| window kernel | ${int(k.trades)} | ${rate(k.tradesPerSec)} | ${rate(k.tradesPerCpuSec)} |`,
      `| Polars, batch 100 | ${int(k.polars100.trades)} | ${rate(k.polars100.tradesPerSec)} | ${rate(k.polars100.tradesPerCpuSec)} |`,
      `| Polars, batch 1,000 | ${int(k.polars1000.trades)} | ${rate(k.polars1000.tradesPerSec)} | ${rate(k.polars1000.tradesPerCpuSec)} |`,
      '',
      `Kernel ÷ Polars per CPU-second: **${k.ratio100.toFixed(0)}×** at batch 100, **${k.ratio1000.toFixed(0)}×** at batch 1,000.`,
    );
  }
  if (r.normalizer) {
    const n = r.normalizer;
    p(
      '## 5. Normalizer',
      `${int(n.frames)} Binance combined-stream \`${n.kind}\` frames per run through the venue adapter (JSON.parse → compiled TypeBox check → normalized Trade), one core.`,
      `- ${rate(n.framesPerCpuSec, 'frames per CPU-second')}`,
      `- ${rate(n.framesPerSec, 'frames/s wall clock')}`,
    );
  }
  if (r.memory) {
    const me = r.memory;
    p(
      '## 6. Memory',
      `A fresh worker per run takes ${int(me.symbols)} symbols × timeframes ${me.timeframes} (+ 1m/5m/15m VWAPs): ${int(me.trades)} trades ` +
        `spread over the last ${(s.memorySpanMs / 1000).toFixed(0)} s of event time, every symbol snapshotted, then ${(s.memorySettleMs / 1000).toFixed(1)} s idle; ` +
        `then, with no more trades, until V8's memory reducer has run a full GC (seen as the heap in use falling by a quarter; at most ${(s.memoryIdleMaxMs / 1000).toFixed(0)} s): ` +
        `the burst's garbage is still in the old space at the first sample, and gone at the second if the reducer ran (the worker is not idle: it still closes ` +
        `every symbol's empty 1s bar each second, which can hold the reducer off). The target is judged on the first sample. ` +
        `RSS from /proc (median of 5 samples), heap from its /metrics. Worker env: ${envText(me.workerEnv)}. MB = 10^6 bytes.`,
      '| figure | MB |',
      '|---|---|',
      `| RSS after warm-up | ${fmtFigure(me.rssMB, 0)} |`,
      `| V8 heap used after warm-up | ${fmtFigure(me.heapUsedMB, 0)} |`,
      `| RSS after the memory reducer's GC (or the wait) | ${fmtFigure(me.idleRssMB, 0)} |`,
      `| V8 heap used then (≈ the live set when the GC ran) | ${fmtFigure(me.idleHeapUsedMB, 0)} |`,
      `| seconds waited for that GC | ${fmtFigure(me.idleGcS, 0)} (seen in ${me.idleGcRuns} of ${me.idleGcS.runs.length} runs) |`,
      `| RSS of the same worker before any symbol | ${fmtFigure(me.baselineRssMB, 0)} |`,
    );
  }
  if (r.recovery) {
    const re = r.recovery;
    p(
      '## 7. Recovery',
      `A worker owning ${re.symbols} symbols consumes ${int(re.rate)} trades/s; after ${(s.recoveryBeforeKillMs / 1000).toFixed(1)} s it is SIGKILLed and a new ` +
        'worker process is started at once. Recovered = the first moment the independent reader (as in section 3) holds, for every ' +
        `symbol, a state written by the new worker with \`lastSeq\` ≥ that symbol's last stream sequence as of ${re.slackMs} ms earlier. ` +
        `Worker env: ${envText(re.workerEnv)}.`,
      '| figure | ms |',
      '|---|---|',
      `| SIGKILL → all ${re.symbols} symbols caught up | ${fmtFigure(re.recoveryMs, 0)} |`,
      `| SIGKILL → new worker consuming (process start) | ${fmtFigure(re.restartMs, 0)} |`,
      '',
      `Exactly once across the kill (Σ tradesApplied = trades sent, every run): ${re.exactlyOnce ? 'yes' : 'no'}.`,
    );
  }
  if (r.book) {
    const b = r.book;
    p(
      '## 8. Book engine',
      `${int(b.updates)} level updates per run in ${int(b.frames)} venue-sized frames (1–10 levels) over ${b.symbols} books through \`OrderBook.set\`, ` +
        `with the per-frame crossed check and a top-of-book read (depth parameter ${int(b.depth)}: mean ${int(b.meanLevels)} levels a side at the end; ` +
        'prices and quantities as venue strings, 30 % deletes), one core.',
      `- ${rate(b.levelUpdatesPerCpuSec, 'level updates per CPU-second')}`,
      `- ${rate(b.levelUpdatesPerSec, 'level updates/s wall clock')}`,
    );
  }
  if (r.bookLatency) {
    const b = r.bookLatency;
    p(
      '## 9. Book latency',
      `A \`tickwork simulate --venue bybit\` child process sends \`orderbook.50\` deltas over ${b.symbols} symbols (asked: ${int(b.rate)} frames/s); ` +
        'this process runs a BookFeed (supervised connection, adapter, Bybit book sync, BookPublisher) on the real NATS (md.book, MD_BOOKS, ' +
        `book quotes) and Redis. ${b.seconds} s measured per run after ${r.sizes.bookLatencyWarmupSeconds} s of warm-up, a fresh simulator and feed per run. ` +
        "Latency: from the frame's receipt time (whole ms, so at most 1 ms high) to the acknowledged Redis pipeline holding its change.",
      '| figure | value |',
      '|---|---|',
      `| frames/s achieved | ${rate(b.framesPerSec)} |`,
      `| p50 | ${ms(b.p50)} |`,
      `| p99 | ${ms(b.p99)} |`,
      `| p99.9 | ${ms(b.p999)} |`,
      `| max | ${ms(b.max)} |`,
      `| feed process CPU per frame (µs) | ${rate(b.cpuUsPerFrame)} |`,
      `| feed process event-loop delay p99 | ${ms(b.loopDelayP99Ms)} |`,
      '',
      `${int(b.frames)} frames measured in the last run.`,
    );
  }
  if (r.backfill) {
    const b = r.backfill;
    p(
      '## 10. Backfill',
      `A ${b.fileMB.toFixed(0)} MB \`binance-trades-csv\` file of ${int(b.trades)} trades over ${(b.spanMs / 3_600_000).toFixed(0)} h of a past day, through ` +
        "the functions `tickwork backfill --source file` runs (openTradeFile, whose CSV scan runs on a worker thread → backfillSymbol: live-seam check, history range recorded, the live path's window " +
        'kernel, bulk upsert of the stored timeframes into PostgreSQL, overlap comparison). Timed from the first read to the last candle committed; a fresh ' +
        `symbol per run, so each run writes all ${int(b.candles)} candles. PostgreSQL runs on the same machine.`,
      '| figure | value |',
      '|---|---|',
      `| trades/s (wall clock) | ${rate(b.tradesPerSec)} |`,
      `| trades per CPU-second of the backfill process (both its threads) | ${rate(b.tradesPerCpuSec)} |`,
      `| candles written/s | ${rate(b.candlesPerSec)} |`,
    );
  }
  if (r.scaleout) {
    const so = r.scaleout;
    p(
      '## 11. Scale-out',
      `\`tickwork worker\` processes in the worker group (no --shard), on ${so.filtered ? `a private nats-server ${so.natsServer} (per-worker filtered consumers)` : `the system nats-server ${so.natsServer}: every worker reads all of MD_TRADES and skips other workers' symbols (${so.fallbackReason ?? 'no 2.10 server'})`}. ` +
        `Per group size and run: ${so.symbols} fresh symbols (one trade each first), the group settles, then ${int(so.trades)} trades published as fast as the raw publisher goes; ` +
        'throughput from the first publish until Σ tradesApplied holds them all; delivered = growth of each worker\'s `tickwork_worker_delivered_total`. ' +
        `All processes share the machine's ${r.machine.cores} cores. Worker env: ${envText(so.workerEnv)}.`,
      '| workers | trades/s | delivered per worker (last run) | Σ delivered ÷ published |',
      '|---|---|---|---|',
      ...so.rows.map((x) => `| ${x.workers} | ${rate(x.throughput)} | ${x.deliveredPerWorker.map(int).join(', ')} | ${x.deliveryFactor.toFixed(2)} |`),
      '',
      `**Takeover** (2 workers, ${int(r.sizes.takeoverRate)} trades/s): SIGKILL of one worker → every symbol it owned owned and ready (caught up) at the survivor, ` +
        `polled every 25 ms on \`/v1/ownership\`: ${fmtFigure(so.takeoverMs, 0, 'ms')} over ${so.takeoverMs.runs.length} runs (symbols taken over: ${so.takenOver.join(', ')}). ` +
        'It is bounded below by the lease TTL: the survivor takes a symbol only once the dead worker\'s lease has lapsed.',
    );
  }
  if (r.latencyHigh || r.floor) {
    const row = (name: string, l: NonNullable<BenchReport['latency']>) =>
      `| ${name} | ${int(l.rate)} | ${rate(l.achievedRate)} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.p999)} | ${ms(l.max)} | ${fmtFigure(l.workerCpuPct, 0)} |`;
    p(
      '## 12. Latency at 20,000 trades/s and the latency floor',
      "Same method, symbols and reader as section 3. The **floor** replaces the worker by a minimal relay process (bench/floor-relay.ts: the worker's " +
        'ordered consumer from the stream end, then per message one Redis SET of the live-state key holding lastSeq and tradesApplied; no parsing, ' +
        "no candles, no batching): what any process between MD_TRADES and Redis pays on this machine, so tickwork's p99 reads as a multiple of it.",
      '| run | trades/s asked | achieved | p50 | p99 | p99.9 | max | process CPU % |',
      '|---|---|---|---|---|---|---|---|',
      ...(r.latency ? [row('tickwork worker', r.latency)] : []),
      ...(r.latencyHigh ? [row('tickwork worker', r.latencyHigh)] : []),
      ...(r.floor ? [row('floor relay', r.floor)] : []),
      '',
      r.latency && r.floor ? `tickwork's p99 at ${int(r.latency.rate)} trades/s = **${(r.latency.p99.median / r.floor.p99.median).toFixed(1)}×** the floor's (goal ≤ 2×).` : '',
    );
  }
  if (r.symbols) {
    const sy = r.symbols;
    p(
      '## 13. Cost per symbol',
      `Per size a fresh worker (all timeframes, 1m/5m/15m VWAPs) works off a stored burst of at least ${sy.tradesPerSymbol} trades per symbol and ` +
        `${int(sy.minTrades)} in all (event times over the last 30 s); trades/s from the first publish until Σ tradesApplied holds them all; memory once every ` +
        `symbol has a snapshot, minus the same worker before any symbol. One run per size. kB = 1,000 bytes. Worker env: ${envText(sy.workerEnv)}.`,
      '| symbols | trades | trades/s | worker CPU % | RSS MB (before any symbol) | RSS kB per symbol | V8 heap kB per symbol | snapshots in |',
      '|---|---|---|---|---|---|---|---|',
      ...sy.rows.map(
        (x) =>
          `| ${int(x.symbols)} | ${int(x.trades)} | ${int(x.tradesPerSec)} | ${x.workerCpuPct.toFixed(0)} | ${x.rssMB.toFixed(0)} (${x.baselineRssMB.toFixed(0)}) | ${x.rssKBPerSymbol.toFixed(1)} | ${x.heapKBPerSymbol.toFixed(1)} | ${int(x.snapshots)} |`,
      ),
    );
  }
  if (r.latency?.budget) {
    const b = r.latency.budget;
    const f = (x: number) => `${x.toFixed(3)} ms`;
    const rows = [
      '| stage | how measured | figure |',
      '|---|---|---|',
    ];
    const us = (perSec: number) => `${(1e6 / perSec).toFixed(2)} µs`;
    if (r.normalizer) rows.push(`| feed parse (frame → normalized trade) | section 5, CPU per frame | ${us(r.normalizer.framesPerCpuSec.median)} |`);
    rows.push(
      `| publish → stored (PubAck back) | raw publisher, every trade of the window | p50 ${f(b.pubAckP50Ms)}, p99 ${f(b.pubAckP99Ms)} |`,
      `| recvTs → live state written (worker's view: stored → delivered → applied → Redis pipeline acked) | worker's \`tickwork_e2e_latency_seconds\` | mean ${f(b.workerRecvToRedisMeanMs)}, p50 ≤ ${f(b.workerRecvToRedisP50LeMs)}, p99 ≤ ${f(b.workerRecvToRedisP99LeMs)} |`,
      `| apply: a symbol actor handling one message | worker's \`tickwork_actor_message_seconds{kind="symbol"}\` | mean ${f(b.actorMessageMeanMs)} (${int(b.actorMessagesPerSec)} messages/s) |`,
    );
    if (r.kernel) rows.push(`| kernel alone, one trade (7 timeframes + 3 VWAPs) | section 4, CPU per trade | ${us(r.kernel.tradesPerCpuSec.median)} |`);
    rows.push(
      `| Redis write: one live-state pipeline | worker's \`tickwork_worker_state_flush_seconds\` | mean ${f(b.flushMeanMs)}, p99 ≤ ${f(b.flushP99LeMs)} (${b.flushesPerSec.toFixed(0)} pipelines/s) |`,
      `| reader: invalidation push + GET | section 3's reader RTT | ${f(r.latency.readerRttMs)} |`,
      '| candle → PostgreSQL | not on this path: closed candles go through MD_CANDLES to the sink (`tickwork_store_upsert_seconds`), not run in this bench | — |',
      '',
      `End to end (section 3): p50 ${r.latency.p50.median.toFixed(2)} ms, p99 ${r.latency.p99.median.toFixed(2)} ms. The worker's own view starts at recvTs (the same instant) and ends when ` +
        "its pipeline is acknowledged, so the rest of section 3's figure is the push and GET of the reader.",
    );
    p(`## 14. Latency budget per stage (${int(r.latency.rate)} trades/s, measured window of the last run)`, ...rows);
  }
  if (r.profiles?.length) {
    p('## Worker CPU profiles', 'Self time of the heaviest functions of each profiled worker (`--profile`).');
    for (const pr of r.profiles) {
      p(
        `### ${basename(pr.file)} (${pr.summary.totalMs.toFixed(0)} ms, busy ${pr.summary.busyPct.toFixed(1)}%)`,
        '| self % | total % | function | where |',
        '|---|---|---|---|',
        ...pr.summary.bySelf.map((x) => `| ${x.selfPct.toFixed(1)} | ${x.totalPct.toFixed(1)} | \`${x.name}\` | ${x.where} |`),
      );
    }
  }
  if (r.files.charts.length) p('## Charts', ...r.files.charts.map((c) => `![${basename(c)}](${basename(c)})`));
  return out.join('\n');
}
