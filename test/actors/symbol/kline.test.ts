import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../../actors/symbol/config.js';
import { ensureMarketStreams, loadStreamsConfig } from '../../../app/streams.js';
import { startWorker } from '../../../app/worker.js';
import { startProcess, type ProcessContext } from '../../../runtime/process.js';
import { readRecording, recordingsDir } from '../../../runtime/recording.js';
import { stateKey, type LiveState } from '../../../schemas/state.js';
import { isolated, spawnCli } from '../../harness.js';

const FILE = `${recordingsDir()}BINANCE_US.ws.1.0`;

/** Exact decimal equality by value: "1.50000000" == "1.5". */
const norm = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);

interface Kline { t: number; o: string; h: string; l: string; c: string; v: string; q: string; n: number; s: string }

// Real NATS JetStream + Redis: `tickwork replay` publishes the recording, a worker aggregates it.
describe('replay of the Binance.US recording reproduces the exchange kline_1m (real NATS, Redis)', () => {
  const iso = isolated();
  let ctx: ProcessContext | null = null;
  afterAll(async () => {
    await ctx?.lifecycle.shutdown();
    await iso.cleanup();
  });

  it('the 1m candle of every symbol whose minute starts inside the recording equals o,h,l,c,v,q,n', async () => {
    expect(existsSync(FILE), `recording missing: ${FILE} (../shared beside the checkout)`).toBe(true);
    let opened = 0;
    const last = new Map<string, Kline>();
    for await (const line of readRecording(FILE)) {
      if (line.kind === 'open') opened = line.ts;
      if (line.kind !== 'received') continue;
      const d = JSON.parse(line.data) as { data?: { e?: string; k?: Kline } };
      if (d.data?.e === 'kline' && d.data.k) last.set(`${d.data.k.s}:${d.data.k.t}`, d.data.k);
    }
    const comparable = [...last.values()].filter((k) => k.t >= opened);
    expect(comparable.length).toBeGreaterThan(0);

    const replay = spawnCli(['replay', '--file', FILE, '--format', 'recording', '--venue', 'binance-us'], iso.env);
    expect(await replay.exited, replay.output()).toBe(0);
    const summary = JSON.parse(replay.output().trim().split('\n').at(-1)!) as { published: number };
    expect(summary.published).toBe(11);

    const env = { ...iso.env, TICKWORK_STATE_FLUSH_MS: '0' };
    ctx = await startProcess({ role: 'kline-test', needs: ['nats', 'redis'], env, httpPort: 0, installSignalHandlers: false });
    await ensureMarketStreams(ctx.nats!.jsm, ctx.ns, loadStreamsConfig(env));
    await startWorker(ctx, loadWorkerConfig(env));
    const redis = iso.redis();
    for (const k of comparable) {
      const symbol = k.s.replace(/(BUSD|USDT|USD)$/, '-$1');
      const key = iso.ns.key(stateKey('binance-us', symbol));
      let state: LiveState | null = null;
      for (let i = 0; i < 100; i++) {
        const raw = await redis.get(key);
        state = raw ? (JSON.parse(raw) as LiveState) : null;
        if (state?.candles['1m']?.openTime === k.t && state.candles['1m'].trades === k.n) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const c = state?.candles['1m'];
      expect(c, `no 1m candle for ${symbol}`).toBeDefined();
      expect(c!.openTime).toBe(k.t);
      expect({ o: norm(c!.open), h: norm(c!.high), l: norm(c!.low), c: norm(c!.close), v: norm(c!.volume), q: norm(c!.quoteVolume), n: c!.trades }).toEqual({
        o: norm(k.o),
        h: norm(k.h),
        l: norm(k.l),
        c: norm(k.c),
        v: norm(k.v),
        q: norm(k.q),
        n: k.n,
      });
    }
  });
});
