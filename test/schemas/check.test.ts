import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { lazyCheck } from '../../schemas/check.js';
import { TradeCheck } from '../../schemas/trade.js';

const Point = Type.Object({ x: Type.Integer({ minimum: 0 }), tag: Type.Optional(Type.String({ maxLength: 3 })) });

describe('lazyCheck: a schema compiled on first use', () => {
  afterEach(() => vi.restoreAllMocks());

  it('compiles nothing until used, then once', () => {
    const compile = vi.spyOn(TypeCompiler, 'Compile');
    const check = lazyCheck(Point);
    expect(compile).not.toHaveBeenCalled();
    expect(check.Check({ x: 1 })).toBe(true);
    expect(check.Check({ x: -1 })).toBe(false);
    expect(check.Check({ x: 1, tag: 'long' })).toBe(false);
    expect(compile).toHaveBeenCalledTimes(1);
  });

  it('answers as the compiled validator does: Check, Errors, Code, Decode', () => {
    const lazy = lazyCheck(Point);
    const eager = TypeCompiler.Compile(Point);
    for (const v of [{ x: 0 }, { x: 1.5 }, { x: 2, tag: 'abc' }, { tag: 'a' }, null, 'x']) {
      expect(lazy.Check(v)).toBe(eager.Check(v));
      expect(lazy.Errors(v).First()?.path).toBe(eager.Errors(v).First()?.path);
    }
    expect(lazy.Code()).toBe(eager.Code());
    expect(lazy.Decode({ x: 3 })).toEqual({ x: 3 });
    expect(() => lazy.Decode({ x: -3 })).toThrow();
  });

  it('is what the schema modules export (TradeCheck)', () => {
    const trade = { venue: 'binance', symbol: 'BTC-USDT', venueSymbol: 'BTCUSDT', id: '1', price: '1.5', qty: '2', side: 'buy', ts: 1_700_000_000_000, recvTs: 1_700_000_000_001 };
    expect(TradeCheck.Check(trade)).toBe(true);
    expect(TradeCheck.Check({ ...trade, side: 'hold' })).toBe(false);
    expect(TradeCheck.Errors({ ...trade, side: 'hold' }).First()?.path).toBe('/side');
  });
});
