import { describe, expect, it } from 'vitest';
import { binanceTradeFrames, runNormalizerBench } from '../../bench/normalizer.js';
import { venueById } from '../../venues/index.js';
import { classify } from '../venues/helpers.js';

describe('bench/normalizer', () => {
  it('generates valid Binance frames of each kind', () => {
    const a = venueById('binance').createAdapter();
    for (const kind of ['aggTrade', 'trade'] as const) {
      for (const f of binanceTradeFrames(64, kind)) expect(classify(a, f).out.trades).toHaveLength(1);
    }
  });

  it('runs and reports frames/s samples (every frame must normalize to a trade)', () => {
    const res = runNormalizerBench({ frames: 20_000, runs: 2, kind: 'mixed', distinct: 512 });
    expect(res.framesPerSec).toHaveLength(2);
    expect(res.framesPerCpuSec).toHaveLength(2);
    for (const v of [...res.framesPerSec, ...res.framesPerCpuSec]) expect(v).toBeGreaterThan(0);
    expect(res.median).toBeGreaterThan(0);
  });
});
