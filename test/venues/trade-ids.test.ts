import { describe, expect, it } from 'vitest';
import { VENUES } from '../../venues/index.js';
import { TRADE_ID_RULES } from '../../venues/trade-ids.js';

describe('TRADE_ID_RULES (the worker’s light copy of the registry’s trade-id rules)', () => {
  it('has exactly the rule of every registered venue that declares one', () => {
    const fromRegistry = Object.fromEntries(VENUES.filter((v) => v.tradeIds).map((v) => [v.id, v.tradeIds]));
    expect(Object.keys(TRADE_ID_RULES).sort()).toEqual(Object.keys(fromRegistry).sort());
    for (const [id, rule] of Object.entries(fromRegistry)) expect(TRADE_ID_RULES[id], id).toBe(rule);
  });
});
