import { Value } from '@sinclair/typebox/value';
import { SymbolActor, type StoredTrade, type SymbolActorPorts, type SymbolMsg } from '../../../actors/symbol/symbol-actor.js';
import { TradeCheck, tradeCheckConfig } from '../../../actors/symbol/trade-check.js';
import type { WindowsConfig } from '../../../actors/windows/index.js';
import { spawn, type ActorRef } from '../../../runtime/actor/index.js';
import { TickworkError } from '../../../runtime/errors.js';
import type { Candle } from '../../../schemas/candle.js';
import { LiveState } from '../../../schemas/state.js';
import type { Trade } from '../../../schemas/trade.js';
import type { SymbolSnapshot } from '../../../store/snapshots.js';
import { SEQUENTIAL_NUMERIC_IDS } from '../../../venues/kit/venue.js';

export const NOW = Date.UTC(2025, 5, 2, 12, 0, 0);

/** A trade of binance MIS-USDT, `i`-th of a steady market: id 1000+i, a second apart, ending before NOW. */
export function trade(i: number, over: Partial<Trade> = {}): Trade {
  const ts = NOW - 3_600_000 + i * 1_000;
  return { venue: 'binance', symbol: 'MIS-USDT', venueSymbol: 'MISUSDT', id: String(1000 + i), price: `${100 + (i % 7)}.5`, qty: '1.25', side: i % 2 ? 'buy' : 'sell', ts, recvTs: ts + 5, ...over };
}

export interface Published {
  candle: Candle;
  msgId: string;
  revision: string;
}

/**
 * A symbol actor with in-memory ports: snapshots in a map, candles and dead letters recorded,
 * MD_TRADES as an array the catch-up reads, a lease switch, a fixed wall clock.
 */
export class ActorRig {
  snapshot: string | null = null;
  readonly candles: Published[] = [];
  readonly dlq: { seq: number; trade: Trade; reason: string; detail: string }[] = [];
  readonly stream: StoredTrade[] = [];
  readonly fenced: string[] = [];
  readonly saves: { token: number | null; seq: number }[] = [];
  live: SymbolActor | null = null;
  lease = true;
  /** The fence in the fake Redis: saves with a lower token are refused. */
  fence = 0;
  token: number | null = null;
  ready = false;
  ref: ActorRef<SymbolMsg> | null = null;
  actor: SymbolActor | null = null;
  failures: unknown[] = [];
  /** The wall clock the actor reads (ticks carry their own `now`). */
  clock = NOW;
  /** While set, candle publishes wait for it (PubAcks not back yet). */
  ackGate: Promise<void> | null = null;
  /** Overrides of the actor's timing (by default grace is 1e12: the clock never closes a bar). */
  timing: Partial<SymbolActorPorts['timing']> = {};

  constructor(private readonly windows: Partial<WindowsConfig> = {}) {}

  ports(): SymbolActorPorts {
    return {
      shard: 'test',
      worker: 'w-test',
      token: this.token,
      store: {
        load: async <W>() => {
          if (this.snapshot === null) return null;
          try {
            return JSON.parse(this.snapshot) as SymbolSnapshot<W>;
          } catch (err) {
            // as store/snapshots.ts
            throw new TickworkError('SNAPSHOT_INVALID', (err as Error).message);
          }
        },
        save: async (_v, _s, token, json) => {
          if (token !== null && token < this.fence) return false;
          this.snapshot = json;
          this.saves.push({ token, seq: (JSON.parse(json) as SymbolSnapshot).seq });
          return true;
        },
      },
      windowsConfig: { venue: 'binance', symbol: 'MIS-USDT', timeframes: ['1m', '5m'], vwapWindows: ['1m'], ...this.windows },
      check: new TradeCheck(tradeCheckConfig({ idRules: { binance: SEQUENTIAL_NUMERIC_IDS } })),
      publishCandle: async (candle, msgId, revision) => {
        if (!this.lease) return false;
        this.candles.push({ candle, msgId, revision });
        if (this.ackGate) await this.ackGate;
        return true;
      },
      publishLive: () => undefined,
      deadLetter: async (seq, trade, reason, detail) => {
        this.dlq.push({ seq, trade, reason, detail });
      },
      liveChanged: (s) => {
        this.live = s;
      },
      history: (afterSeq) => this.read(afterSeq),
      holds: () => this.lease,
      fenced: (target) => this.fenced.push(target),
      ready: () => {
        this.ready = true;
      },
      now: () => this.clock,
      timing: { graceMs: 1e12, snapshotEveryTrades: 1_000_000, snapshotEveryMs: 1e9, liveCandleMs: 0, ...this.timing },
    };
  }

  private async *read(afterSeq: number): AsyncGenerator<StoredTrade[]> {
    const end = this.stream.length ? this.stream[this.stream.length - 1]!.seq : 0;
    const out = this.stream.filter((t) => t.seq > afterSeq && t.seq <= end);
    for (let i = 0; i < out.length; i += 3) yield out.slice(i, i + 3);
  }

  /** Starts the actor (preStart: snapshot + catch-up); unsupervised, failures recorded. */
  start(): ActorRef<SymbolMsg> {
    this.ready = false;
    this.ref = spawn<SymbolMsg>('MIS-USDT', () => (this.actor = new SymbolActor('binance', 'MIS-USDT', this.ports())), { mailboxSize: 100_000 });
    return this.ref;
  }

  async stop(): Promise<void> {
    await this.ref?.stop();
  }

  /** Sends trades as the worker routes them (their stream sequence, in order). */
  send(...items: StoredTrade[]): void {
    for (const { seq, trade } of items) this.ref!.trySend({ t: 'trade', seq, trade });
  }

  /** Waits until the mailbox is empty and the actor idle (a few macrotask turns). */
  async settle(): Promise<void> {
    for (let i = 0; i < 2000; i++) {
      await new Promise((r) => setImmediate(r));
      if (this.ready && this.ref!.mailboxDepth === 0) {
        await new Promise((r) => setImmediate(r));
        if (this.ref!.mailboxDepth === 0) return;
      }
    }
    throw new Error('actor did not settle');
  }

  /** The live state the worker would write now. */
  /** The live state the writer would store, checked against the LiveState schema (it is written as text, key by key). */
  state(): Record<string, unknown> {
    const state = JSON.parse(this.live!.collectLive(NOW)!.json) as unknown;
    const bad = Value.Errors(LiveState, state).First();
    if (bad) throw new Error(`live state breaks the LiveState schema at ${bad.path}: ${bad.message}`);
    return state as Record<string, unknown>;
  }
}
