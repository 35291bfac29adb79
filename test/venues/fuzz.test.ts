import { describe, expect, it } from 'vitest';
import { venueById } from '../../venues/index.js';
import { newParseOutput, clearParseOutput, type FrameClass } from '../../venues/kit/types.js';
import { QuoteCheck } from '../../schemas/quote.js';
import { TradeCheck } from '../../schemas/trade.js';
import { receivedFrames, rng } from './helpers.js';

/**
 * 10,000 mutated frames per adapter (TICKWORK_FUZZ_FRAMES: the chaos suite raises it) (truncation, wrong types, missing fields, huge numbers,
 * invalid UTF-8, garbage), seeded so a failure reproduces. Per frame: no throw, exactly one
 * classification, and every emitted trade/quote is contract-valid. Seeds: real recorded frames
 * plus today's protocol frames the recordings lack.
 */

const FRAMES = Number(process.env.TICKWORK_FUZZ_FRAMES ?? 10_000);

const LIVE: Record<string, string[]> = {
  binance: [
    '{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"BTCUSDT","a":12345,"p":"0.00100000","q":"100.50000000","f":100,"l":105,"T":1672515782134,"m":true,"M":true}}',
    '{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":77,"p":"1800.01","q":"0.5","T":1672515782134,"m":false,"M":true}}',
    '{"result":null,"id":1}',
    '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1672515782136,"s":"BTCUSDT","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"],["0.0027","0"]]}}',
  ],
  bybit: [
    '{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick","i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false}]}',
    '{"topic":"orderbook.1.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{"s":"BTCUSDT","b":[["16493.50","0.006"]],"a":[["16611.00","0.029"]],"u":18521288,"seq":7961638724},"cts":1672304484976}',
    '{"topic":"orderbook.1.BTCUSDT","type":"delta","ts":1672304484979,"data":{"s":"BTCUSDT","b":[["16493.00","1.5"]],"a":[],"u":18521289}}',
    '{"success":true,"ret_msg":"pong","conn_id":"c","req_id":"","op":"ping"}',
    '{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1687940967466,"data":{"s":"BTCUSDT","b":[["30247.20","30.028"],["30245.40","0"]],"a":[["30248.70","0"]],"u":177400507,"seq":66544703342},"cts":1687940967464}',
  ],
  coinbase: [
    '{"type":"ticker","sequence":37475248783,"product_id":"ETH-USD","price":"1285.22","best_bid":"1285.04","best_bid_size":"0.46688654","best_ask":"1285.27","best_ask_size":"1.56637040","side":"buy","time":"2022-10-19T23:28:22.061769Z","trade_id":370843401,"last_size":"11.4396987"}',
    '{"type":"heartbeat","sequence":90,"last_trade_id":20,"product_id":"BTC-USD","time":"2014-11-07T08:19:28.464459Z"}',
    '{"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z","sequence_num":3,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"1970-01-01T00:00:00Z","price_level":"21921.73","new_quantity":"0.06317902"},{"side":"offer","event_time":"1970-01-01T00:00:00Z","price_level":"21921.74","new_quantity":"0"}]}]}',
    '{"channel":"heartbeats","client_id":"","timestamp":"2023-06-23T20:31:26.122969572Z","sequence_num":4,"events":[{"current_time":"2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105","heartbeat_counter":3049}]}',
  ],
  kraken: [
    '{"channel":"trade","type":"update","data":[{"symbol":"MATIC/USD","side":"sell","price":0.5117,"qty":40.0,"ord_type":"market","trade_id":4665906,"timestamp":"2023-09-25T07:49:37.708706Z"}]}',
    '{"channel":"ticker","type":"snapshot","data":[{"symbol":"ALGO/USD","bid":0.10025,"bid_qty":740.0,"ask":0.10036,"ask_qty":1240.39929535,"last":0.10035,"timestamp":"2023-09-25T07:49:37.708706Z"}]}',
    '[0,[["5541.20000","0.15850568","1534614057.321597","s","l",""],["6060.00000","0.02455000","1534614057.324998","b","l",""]],"trade","XBT/USD"]',
    '[0,["5698.40000","5700.00000","1542057299.545897","1.01234567","0.98765432"],"spread","XBT/USD"]',
    '{"method":"subscribe","result":{"channel":"trade","snapshot":true,"symbol":"BTC/USD"},"success":true}',
    '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":26870.0,"qty":0.10000000}],"asks":[{"price":26871.3,"qty":0.00000000}],"checksum":2439117997,"timestamp":"2023-10-06T17:35:55.440295Z"}]}',
  ],
  okx: [
    '{"arg":{"channel":"bbo-tbt","instId":"BTC-USDT"},"data":[{"asks":[["8446","95","0","3"]],"bids":[["8445","1.50","0","1"]],"ts":"1597026383085","seqId":123}]}',
    '{"arg":{"channel":"trades","instId":"ETH-USDT"},"data":[{"instId":"ETH-USDT","tradeId":"130639474","px":"4219.9","sz":"0.12","side":"sell","ts":"1630048897897","count":"2"}]}',
    'pong',
    '{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["8476.98","415","0","13"]],"bids":[["8476.97","0","0","0"]],"ts":"1597026383085","checksum":-855196043,"prevSeqId":123455,"seqId":123456}]}',
  ],
};

const RECORDING: Record<string, string> = {
  binance: 'BINANCE.ws.1.0',
  'binance-us': 'BINANCE_US.ws.1.0',
  bybit: 'BYBIT.ws.25.0',
  coinbase: 'COINBASE.ws.28.0',
  kraken: 'KRAKEN.ws.50.0',
  okx: 'OKX.ws.1.0',
};

const GARBAGE = ['{', '}', '[', ']', '"', ',', ':', 'null', 'true', '[]', '{}', '1e400', '-1', '0', '"x"', '\\', '\\u0000', '\u0000', 'NaN', '99999999999999999999999'];
const VALUE_SWAPS = ['123', 'null', 'true', '{}', '[]', '"x"', '1e400', '-1', '1.5', '"1e5"', '"-3"', '""', '123456789012345678901234567890'];

function mutate(s: string, r: () => number, depth = 0): string {
  const pos = Math.floor(r() * s.length);
  const any = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  switch (Math.floor(r() * 10)) {
    case 0: // truncated frame
      return s.slice(0, pos);
    case 1: // one character replaced
      return s.slice(0, pos) + String.fromCharCode(Math.floor(r() * 128)) + s.slice(pos + 1);
    case 2: // garbage token inserted
      return s.slice(0, pos) + any(GARBAGE) + s.slice(pos);
    case 3: {
      // a value of the wrong type / out of range
      const values = [...s.matchAll(/:\s*("(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*|true|false|null)/g)];
      if (values.length === 0) return s.slice(0, pos);
      const m = any(values);
      const start = m.index! + m[0].length - m[1]!.length;
      return s.slice(0, start) + any(VALUE_SWAPS) + s.slice(start + m[1]!.length);
    }
    case 4: {
      // a field removed
      const keys = [...s.matchAll(/"[A-Za-z_]+"\s*:\s*("(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*|true|false|null),?/g)];
      if (keys.length === 0) return s.slice(0, pos);
      const m = any(keys);
      return s.slice(0, m.index!) + s.slice(m.index! + m[0].length);
    }
    case 5: {
      // invalid UTF-8 bytes, decoded the way the feed decodes frames (U+FFFD)
      const buf = Buffer.from(s);
      for (let i = 0; i < 1 + Math.floor(r() * 3); i++) buf[Math.floor(r() * buf.length)] = any([0xff, 0xfe, 0xc3, 0x80, 0xe2, 0xf0]);
      return buf.toString('utf8');
    }
    case 6: // a segment duplicated
      return s.slice(0, pos) + s.slice(Math.floor(r() * pos), pos) + s.slice(pos);
    case 7: // huge number anywhere a digit is
      return s.replace(/[0-9]+/, () => any(['1e400', '9'.repeat(40), '-0', '0.0000000000000000000000000000000000000000000001']));
    case 8: // untouched (valid frames must still parse)
      return s;
    default:
      return depth < 3 ? mutate(mutate(s, r, depth + 1), r, depth + 1) : s;
  }
}

describe('fuzzed frames never crash an adapter and are always classified once', () => {
  for (const venue of Object.keys(RECORDING)) {
    it(`${venue}: ${FRAMES} mutated frames`, async () => {
      const recorded = (await receivedFrames(RECORDING[venue]!)).map((f) => f.data);
      // Keep all data-bearing frames and a spread of the rest, so mutations hit the real parsers.
      const picked = recorded.filter((f, i) => /Trade|trade|match|ticker|bookTicker|tickers/.test(f.slice(0, 60)) || i % 25 === 0);
      const live = LIVE[venue] ?? LIVE[venue.replace('-us', '')]!;
      const r = rng(0x5eed + venue.length);
      const adapter = venueById(venue).createAdapter();
      const out = newParseOutput();
      const classes = new Map<string, number>();
      const reasons = new Map<string, number>();
      const failures: string[] = [];
      let rejects = 0;
      for (let n = 0; n < FRAMES; n++) {
        // half today's protocol, half recorded traffic
        const pool = r() < 0.5 ? live : picked;
        const raw = mutate(pool[Math.floor(r() * pool.length)]!, r);
        let cls: FrameClass;
        try {
          cls = adapter.parse(raw, 1_700_000_000_000 + n, out);
        } catch (err) {
          failures.push(`threw ${(err as Error).message} on ${raw.slice(0, 120)}`);
          continue;
        }
        const data = out.trades.length + out.quotes.length;
        // a control frame may hand the book router connection-level facts (Coinbase sequence numbers)
        const ok =
          cls === 'data'
            ? data > 0 && out.control.length + out.rejects.length + out.books.length === 0
            : cls === 'book'
              ? out.books.length > 0 && data + out.control.length + out.rejects.length === 0
              : cls === 'reject'
                ? out.rejects.length === 1 && data + out.control.length + out.books.length === 0 && out.rejects[0]!.raw === raw
                : out.control.length === 1 && out.control[0] === cls && data + out.rejects.length === 0 && out.books.length <= 1;
        if (!ok) failures.push(`${cls}: ${raw.slice(0, 120)}`);
        for (const t of out.trades) if (!TradeCheck.Check(t)) failures.push(`invalid trade ${JSON.stringify(t)} from ${raw.slice(0, 120)}`);
        for (const q of out.quotes) if (!QuoteCheck.Check(q)) failures.push(`invalid quote ${JSON.stringify(q)} from ${raw.slice(0, 120)}`);
        for (const j of out.rejects) reasons.set(j.reason, (reasons.get(j.reason) ?? 0) + 1);
        rejects += out.rejects.length;
        classes.set(cls, (classes.get(cls) ?? 0) + 1);
        clearParseOutput(out);
      }
      expect(failures.slice(0, 5)).toEqual([]);
      expect([...classes.values()].reduce((a, b) => a + b, 0)).toBe(FRAMES);
      // the DLQ count equals the number of frames classified as rejects
      expect(rejects).toBe(classes.get('reject') ?? 0);
      expect(reasons.get('internal') ?? 0).toBe(0);
      // not vacuous: the mutations produced good data and several kinds of rejects
      expect(classes.get('data') ?? 0).toBeGreaterThan(100);
      expect(reasons.get('json') ?? 0).toBeGreaterThan(100);
      expect(reasons.get('schema') ?? 0).toBeGreaterThan(100);
    });
  }
});
