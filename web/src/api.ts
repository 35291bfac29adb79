import type { Candle } from '../../schemas/candle.js';
import type { Trade } from '../../schemas/trade.js';
import type { ArbitrageRecord } from '../../store/arbitrage.js';
import type { BookSnap } from '../../schemas/book.js';
import type { DerivTicker, FundingResponse } from '../../schemas/deriv.js';

export type { Candle, Trade, ArbitrageRecord, BookSnap, DerivTicker, FundingResponse };
export type {
  ArbitrageResponse,
  CandlesResponse,
  OverviewResponse,
  OverviewRow,
  SymbolsResponse,
} from '../../schemas/api.js';
export type { FeedHealth } from '../../schemas/state.js';

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { message?: string } | null;
    throw new Error(body?.message ?? `${res.status} ${res.statusText}`);
  }
  return (await res.json()) as T;
}

export interface Selection {
  venue: string;
  symbol: string;
  tf: string;
}

export type StreamFrame =
  | { type: 'candle'; data: Candle }
  | { type: 'trade'; data: Trade }
  | { type: 'arb'; data: ArbitrageRecord }
  | { type: 'book'; data: BookSnap }
  | { type: 'subscribed' | 'unsubscribed'; venue: string; symbol: string; tf?: string; channel?: string }
  | { type: 'dropped'; count: number }
  | { type: 'error'; error: string; field?: string; message: string };

/** Levels per side of the depth ladder (the `book` channel's depth). */
export const LADDER_DEPTH = 10;

/**
 * `/v1/stream` with reconnects: the current selection (its candles, trades, arbitrage episodes and
 * its venue's top-N book) is re-subscribed after every (re)connect, and `onReconnect` lets the page
 * refetch what it missed while disconnected.
 */
export class LiveStream {
  private ws: WebSocket | null = null;
  private current: Selection | null = null;
  private attempt = 0;

  constructor(
    private readonly onFrame: (f: StreamFrame) => void,
    private readonly onStatus: (s: string) => void,
    private readonly onReconnect: () => void,
  ) {
    this.connect();
  }

  select(sel: Selection): void {
    if (this.current && this.ws?.readyState === WebSocket.OPEN) {
      this.send({ op: 'unsubscribe', ...this.current });
      this.send({ op: 'unsubscribe', channel: 'book', venue: this.current.venue, symbol: this.current.symbol });
    }
    this.current = sel;
    if (this.ws?.readyState === WebSocket.OPEN) this.subscribe(sel);
  }

  private subscribe(sel: Selection): void {
    this.send({ op: 'subscribe', ...sel, trades: true, arb: true });
    this.send({ op: 'subscribe', channel: 'book', venue: sel.venue, symbol: sel.symbol, depth: LADDER_DEPTH });
  }

  private connect(): void {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/stream`;
    const ws = new WebSocket(url);
    this.ws = ws;
    this.onStatus('connecting…');
    ws.onopen = () => {
      const reconnected = this.attempt > 0;
      this.attempt = 0;
      this.onStatus('live');
      if (this.current) this.subscribe(this.current);
      if (reconnected) this.onReconnect();
    };
    ws.onmessage = (ev) => {
      try {
        this.onFrame(JSON.parse(String(ev.data)) as StreamFrame);
      } catch (err) {
        console.warn('bad stream frame', err);
      }
    };
    ws.onclose = () => {
      this.ws = null;
      this.attempt++;
      const delay = Math.min(10_000, 250 * 2 ** this.attempt) * Math.random();
      this.onStatus(`disconnected, retrying in ${(delay / 1000).toFixed(1)} s`);
      setTimeout(() => this.connect(), delay);
    };
  }

  private send(msg: object): void {
    this.ws?.send(JSON.stringify(msg));
  }
}
