import { backoffDelay, sleep } from '../../runtime/backoff.js';
import type { Logger } from '../../runtime/logger.js';
import { counter } from '../../runtime/metrics.js';
import type { Namespace } from '../../runtime/namespace.js';
import { StreamSource, type NatsHandles } from '../../runtime/nats/index.js';
import { DERIV_STREAM, DERIV_STREAM_SUBJECTS, DerivTickerCheck, type DerivTicker, type FundingRate } from '../../schemas/deriv.js';

/** What the recorder needs of store/funding.ts `FundingStore`. */
export interface FundingSink {
  insert(rates: readonly FundingRate[]): Promise<number>;
}

const metrics = {
  stored: counter({ name: 'tickwork_funding_rates_stored_total', help: 'Settled funding rates written to PostgreSQL (new rows)', labelNames: [] as const }),
  failures: counter({ name: 'tickwork_funding_rates_failures_total', help: 'Funding-rate batches PostgreSQL refused (redelivered)', labelNames: [] as const }),
};

/** Durable consumer name of the recorder (namespaced). */
export const FUNDING_DURABLE = 'funding-rates';
const RETRY = { initialMs: 200, maxMs: 10_000, multiplier: 2 };
const REOPEN_MS = 5_000;

/**
 * Settled funding rates → PostgreSQL `funding_rates`: the tickers of MD_DERIVS that carry
 * `settled` (the merge marks the one that moved past a settlement) become rows, read through a
 * durable consumer acknowledged after the insert commits. A restart resumes at the first
 * unacknowledged ticker; one redelivered after a commit is inserted again and changes nothing
 * (one row per venue, symbol and settlement time), so each settlement is written once.
 */
export class FundingRecorder {
  private source: StreamSource<DerivTicker> | null = null;
  private loop: Promise<void> | null = null;
  private retry: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(private readonly deps: { nats: NatsHandles; ns: Namespace; sink: FundingSink; log: Logger }) {}

  async start(): Promise<void> {
    const { nats, ns, log } = this.deps;
    try {
      this.source = await StreamSource.open<DerivTicker>({
        nats,
        stream: ns.stream(DERIV_STREAM),
        filter: ns.subject(DERIV_STREAM_SUBJECTS),
        start: { durable: ns.name(FUNDING_DURABLE), ackWaitMs: 30_000, maxAckPending: 10_000 },
        check: DerivTickerCheck,
        maxBatch: 512,
        log,
      });
    } catch (err) {
      if (this.stopping) return;
      log.warn({ err: (err as Error).message }, 'funding recorder: MD_DERIVS not readable yet; retrying');
      this.retry = setTimeout(() => void this.start(), REOPEN_MS);
      this.retry.unref();
      return;
    }
    this.loop = this.consume(this.source);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retry);
    await this.source?.close();
    await this.loop;
  }

  private async consume(source: StreamSource<DerivTicker>): Promise<void> {
    try {
      for await (const batch of source) {
        const rows = settledRates(batch.items.map((i) => i.value));
        for (let attempt = 0; rows.length > 0; attempt++) {
          try {
            metrics.stored.inc(await this.deps.sink.insert(rows));
            break;
          } catch (err) {
            metrics.failures.inc();
            if (attempt === 0) this.deps.log.warn({ err: (err as Error).message, rows: rows.length }, 'funding rates not written; retrying');
            if (this.stopping) {
              batch.nak();
              return;
            }
            batch.working();
            await sleep(backoffDelay(attempt, RETRY));
          }
        }
        batch.ack();
      }
    } catch (err) {
      if (!this.stopping) this.deps.log.error({ err }, 'funding recorder ended');
    }
  }
}

/** The settlements a batch of tickers reports, one per venue/symbol/time. */
export function settledRates(tickers: readonly DerivTicker[]): FundingRate[] {
  const out = new Map<string, FundingRate>();
  for (const t of tickers) {
    const s = t.settled;
    if (s === undefined) continue;
    out.set(`${t.venue}:${t.symbol}:${s.fundingTime}`, { venue: t.venue, symbol: t.symbol, fundingTime: s.fundingTime, fundingRate: s.fundingRate, fundingIntervalMs: s.fundingIntervalMs });
  }
  return [...out.values()];
}
