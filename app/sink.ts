import { Type } from '@sinclair/typebox';
import { CandleSink } from '../actors/sink/candle-sink.js';
import { sessionsFromJson } from '../actors/symbol/sessions.js';
import { loadEnv } from '../runtime/config.js';
import { TickworkError } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import type { ProcessContext } from '../runtime/process.js';
import { CandleStore, loadStoreSettings, pendingMigrations, type StoreSettings } from '../store/index.js';
import { runRole } from './role.js';

const HOUR = 3_600_000;

/** True for a venue/symbol that trades in sessions: its candles have session-aligned lengths. */
export type SessionLookup = (venue: string, symbol: string) => boolean;

export interface SinkSettings {
  store: StoreSettings;
  sessions: SessionLookup;
}

const SessionsEnv = Type.Object({
  TICKWORK_SESSIONS: Type.String({ default: '', description: 'JSON object: { "<venue>:<SYMBOL>" | "<SYMBOL>": SessionConfig } (as the workers have it)' }),
});

/** Which symbols trade in sessions, from TICKWORK_SESSIONS as the workers read it (the sink and api check candle lengths by it). */
export function loadSessionLookup(env: NodeJS.ProcessEnv): SessionLookup {
  const sessions = sessionsFromJson(loadEnv(SessionsEnv, env).TICKWORK_SESSIONS);
  return (venue, symbol) => sessions(venue, symbol) !== null;
}

/** The sink's settings: storage, and the workers' sessions (whose bars the candle check must accept). */
export function loadSinkSettings(env: NodeJS.ProcessEnv): SinkSettings {
  return { store: loadStoreSettings(env), sessions: loadSessionLookup(env) };
}

/**
 * MD_CANDLES → PostgreSQL (streams ensured before); drained on shutdown. The sink runs as the
 * runtime PostgreSQL role, which has no DDL rights: migrations and partition upkeep are
 * `tickwork migrate`'s (the schema owner's). Start-up only checks that the schema is this build's
 * and says once when partitions ahead are missing (rows then land in the DEFAULT partitions).
 */
export async function startSink(ctx: ProcessContext, settings: StoreSettings, sessions: SessionLookup = () => false): Promise<CandleSink> {
  const sql = ctx.sql!;
  const schema = ctx.ns.pgSchema;
  const pending = await pendingMigrations(sql, schema);
  if (pending.length) {
    throw new TickworkError(
      'SERVICE_UNAVAILABLE',
      `PostgreSQL schema ${schema} lacks migration ${pending.map((m) => `${String(m.id).padStart(5, '0')}_${m.name}`).join(', ')}: run \`tickwork migrate\` (as the schema owner) first`,
    );
  }
  const store = new CandleStore(sql, { ...settings, schema });
  const log = ctx.log.child({ component: 'sink' });
  const partitions = new PartitionWatch(store, log);
  await partitions.check();
  const watch = setInterval(() => void partitions.check(), HOUR);
  watch.unref();
  const sink = new CandleSink({ nats: ctx.nats!, ns: ctx.ns, store, log, session: sessions });
  await sink.start();
  ctx.lifecycle.onShutdown('actors', 'pg-sink', async () => {
    clearInterval(watch);
    await sink.stop();
  });
  return sink;
}

/** Says once (and again only after they were complete) that partitions ahead are missing. */
class PartitionWatch {
  private warned = false;

  constructor(
    private readonly store: CandleStore,
    private readonly log: Logger,
  ) {}

  async check(): Promise<void> {
    try {
      const missing = await this.store.missingPartitionsAround(Date.now());
      if (missing.length && !this.warned) {
        this.log.warn(
          { missing: missing.length, first: missing[0] },
          'PostgreSQL partitions ahead are missing (rows land in the DEFAULT partitions): run `tickwork migrate` daily as the schema owner',
        );
      }
      this.warned = missing.length > 0;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'partition check failed');
    }
  }
}

/** `tickwork sink`: the sink alone, for deployments that scale it separately. */
export async function runSink(base: NodeJS.ProcessEnv = process.env): Promise<void> {
  const settings = loadSinkSettings(base);
  await runRole('sink', ['nats', 'pg'], base, (ctx) => startSink(ctx, settings.store, settings.sessions));
}
