import type { Namespace } from '../runtime/namespace.js';
import type { Redis } from '../runtime/redis.js';
import { derivKey, type DerivTicker } from '../schemas/deriv.js';

/** A venue gone for a day no longer answers with its last ticker. */
const TTL_MS = 24 * 3_600_000;

/**
 * Redis adapter for the latest merged derivative ticker per venue/symbol (`deriv:<venue>:<SYMBOL>`,
 * one JSON string): written by the derivatives feed with every md.deriv message, read by the API
 * in one GET.
 */
export class DerivStore {
  constructor(
    private readonly redis: Redis,
    private readonly ns: Namespace,
  ) {}

  async put(t: DerivTicker): Promise<void> {
    await this.redis.set(this.ns.key(derivKey(t.venue, t.symbol)), JSON.stringify(t), 'PX', TTL_MS);
  }

  async get(venue: string, symbol: string): Promise<DerivTicker | null> {
    const raw = await this.redis.get(this.ns.key(derivKey(venue, symbol)));
    return raw === null ? null : (JSON.parse(raw) as DerivTicker);
  }
}
