import { loadFeedConfig } from '../../../actors/feed/config.js';
import { loadDerivsConfig } from '../../../actors/feed/derivs-config.js';
import type { DerivsFeed } from '../../../actors/feed/derivs-feed.js';
import { derivsFeedFor } from '../../../app/derivs.js';
import { ensureMarketStreams, loadStreamsConfig } from '../../../app/streams.js';
import { createLogger } from '../../../runtime/logger.js';
import type { NatsHandles } from '../../../runtime/nats/index.js';
import { startSimulator, type Simulator, type SimulatorOptions, type SyntheticOptions } from '../../../simulate/index.js';
import { DerivStore } from '../../../store/derivs.js';
import { venueById } from '../../../venues/index.js';
import { readStream, type StoredMsg } from './helpers.js';
import { isolated, type Isolated } from '../../harness.js';

/**
 * A venue simulator (or any endpoint given by `env`) and an in-process derivatives feed built as the
 * feed role builds it (app/derivs.ts), against real NATS and Redis in an isolated namespace.
 */
export interface DerivsRig {
  iso: Isolated;
  sim: Simulator | null;
  feed: DerivsFeed;
  nats: NatsHandles;
  latest: DerivStore;
  /** The messages a stream of the namespace holds now (MD_DERIVS, MD_LIQS, MD_DLQ). */
  read(stream: 'MD_DERIVS' | 'MD_LIQS' | 'MD_DLQ'): Promise<StoredMsg[]>;
  stop(): Promise<void>;
}

export const derivsLog = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', { test: 'derivs' });

export async function startDerivsRig(
  venue: string,
  symbols: string[],
  opts: { synthetic?: SyntheticOptions; env?: Record<string, string>; iso?: Isolated; simLimits?: SimulatorOptions['limits']; restWeightPerMin?: number } = {},
): Promise<DerivsRig> {
  const iso = opts.iso ?? isolated();
  const sim = opts.synthetic ? await startSimulator({ venue, synthetic: opts.synthetic, ...(opts.simLimits ? { limits: opts.simLimits } : {}) }) : null;
  const env = { ...iso.env, ...(sim?.env ?? {}), TICKWORK_VENUES: venue, TICKWORK_SYMBOLS: symbols.join(','), TICKWORK_FEED_BACKOFF_INITIAL_MS: '50', ...opts.env };
  const nats = await iso.nats();
  await ensureMarketStreams(nats.jsm, iso.ns, loadStreamsConfig(env));
  const latest = new DerivStore(iso.redis(), iso.ns);
  const def = venueById(venue);
  // a venue whose REST weight budget is smaller than its own (the feed takes half of it)
  const v = opts.restWeightPerMin === undefined ? def : { ...def, limits: { ...def.limits, restWeightPerMin: opts.restWeightPerMin } };
  const feed = derivsFeedFor(v, loadFeedConfig(env), loadDerivsConfig(env), { nats, ns: iso.ns, latest, log: derivsLog });
  await feed.start(symbols);
  return {
    iso,
    sim,
    feed,
    nats,
    latest,
    read: (stream) => readStream(nats, iso.ns.stream(stream)),
    async stop() {
      await feed.stop();
      await sim?.close();
      if (!opts.iso) await iso.cleanup();
    },
  };
}
