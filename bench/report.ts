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
      `| publish, feed path (PipelinedPublisher, awaited per message, 2,048 in flight) | ${rate(j.publish)} |`,
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
        `spread over the last ${(s.memorySpanMs / 1000).toFixed(0)} s of event time, every symbol snapshotted, then ${(s.memorySettleMs / 1000).toFixed(1)} s idle. ` +
        `RSS from /proc (median of 5 samples), heap from its /metrics. Worker env: ${envText(me.workerEnv)}. MB = 10^6 bytes.`,
      '| figure | MB |',
      '|---|---|',
      `| RSS after warm-up | ${fmtFigure(me.rssMB, 0)} |`,
      `| V8 heap used after warm-up | ${fmtFigure(me.heapUsedMB, 0)} |`,
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
