import { stat } from 'node:fs/promises';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { openReplay, REPLAY_FORMATS, type ReplayFormat } from '../../actors/replay/sources.js';
import { ensureMarketStreams } from '../../actors/streams.js';
import { sleep } from '../../runtime/backoff.js';
import { startProcess } from '../../runtime/process.js';
import { PipelinedPublisher } from '../../runtime/publisher.js';
import { parseSpeed } from '../../runtime/speed.js';
import { tradeSubject } from '../../schemas/subjects.js';
import { tradeMsgId } from '../../schemas/trade.js';

export function register(program: Command): void {
  program
    .command('replay')
    .description("publish a file's trades into MD_TRADES exactly as a live feed would (same subjects and Nats-Msg-Ids)")
    .requiredOption('--file <path>', 'input file')
    .requiredOption('--format <format>', REPLAY_FORMATS.join(' | '))
    .requiredOption('--venue <venue>', 'venue id, e.g. binance')
    .option('--symbol <symbol>', 'canonical BASE-QUOTE (required for CSV; filters recordings)')
    .option('--speed <speed>', 'max | 1x | Nx', 'max')
    .action(async (opts: { file: string; format: string; venue: string; symbol?: string; speed: string }) => {
      if (!(REPLAY_FORMATS as readonly string[]).includes(opts.format)) throw new RangeError(`--format: expected one of ${REPLAY_FORMATS.join(', ')}`);
      const speed = parseSpeed(opts.speed);
      const size = (await stat(opts.file)).size;
      const ctx = await startProcess({ role: 'replay', needs: ['nats'], installSignalHandlers: true });
      const nats = ctx.nats!;
      await ensureMarketStreams(nats.jsm, ctx.ns);
      const source = openReplay({ file: opts.file, format: opts.format as ReplayFormat, venue: opts.venue, ...(opts.symbol ? { symbol: opts.symbol.toUpperCase() } : {}) });
      const publisher = new PipelinedPublisher(nats, { maxInFlight: 4096 });
      const bar = process.stderr.isTTY ? new SingleBar({ format: 'replay |{bar}| {percentage}% {value}/{total} bytes | {trades} trades', stream: process.stderr }, Presets.shades_classic) : null;
      bar?.start(size, 0, { trades: 0 });
      let published = 0;
      let duplicates = 0;
      let failed: unknown = null;
      let firstTs: number | null = null;
      const started = Date.now();
      for await (const t of source.trades) {
        if (ctx.lifecycle.isStopping) break;
        if (speed !== Infinity) {
          firstTs ??= t.ts;
          const due = started + (t.ts - firstTs) / speed;
          if (due > Date.now()) await sleep(due - Date.now());
        }
        const { stored } = await publisher.publish(ctx.ns.subject(tradeSubject(t.venue, t.symbol)), JSON.stringify(t), tradeMsgId(t));
        stored.then(
          (r) => (r.duplicate ? duplicates++ : published++),
          (err: unknown) => (failed ??= err),
        );
        if (bar && (published + duplicates) % 1000 === 0) bar.update(source.bytes(), { trades: published + duplicates });
      }
      await publisher.flush();
      // Let the per-message ack callbacks above run before reading the counters.
      await new Promise((r) => setImmediate(r));
      bar?.update(size, { trades: published + duplicates });
      bar?.stop();
      if (failed) throw failed;
      ctx.log.info({ file: opts.file, published, duplicates, skipped: source.skipped.count, ms: Date.now() - started }, 'replay done');
      if (source.skipped.count) ctx.log.warn({ examples: source.skipped.examples }, 'lines skipped');
      process.stdout.write(`${JSON.stringify({ published, duplicates, skipped: source.skipped.count })}\n`);
      await ctx.lifecycle.shutdown();
    });
}
