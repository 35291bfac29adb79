import { loadCoreConfig } from '../runtime/config.js';
import { Lifecycle } from '../runtime/lifecycle.js';
import { createLogger, logFormat } from '../runtime/logger.js';
import { defaultSynthetic, startSimulator } from '../simulate/index.js';

export interface SimulateArgs {
  venue: string;
  recording?: string;
  /** REST companion of `recording` (default: its sibling `NAME.0`). */
  restRecording?: string;
  port: number;
  host: string;
  symbols?: string[];
  rate: number;
  seed: number;
  burstiness?: number;
  speed: number;
  limits: 'venue' | 'none';
}

/**
 * `tickwork simulate --venue V`: a local exchange for tests, demos and load. Prints one JSON line
 * (`{"event":"simulate.ready","venue","mode","wsUrl","restUrl","controlUrl","port","env"}`) on
 * stdout before anything else: `wsUrl` is the venue's public path on this server, `env` the
 * `<VENUE>_WS_URL` / `<VENUE>_REST_URL` that point a feed at it. Runs until SIGTERM/SIGINT.
 */
export async function runSimulate(args: SimulateArgs, base: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadCoreConfig(base);
  const log = createLogger(config.LOG_LEVEL, { role: 'simulate', venue: args.venue }, {}, logFormat(config.LOG_FORMAT));
  const dflt = defaultSynthetic(args.venue);
  const sim = await startSimulator({
    venue: args.venue,
    host: args.host,
    port: args.port,
    recording: args.recording,
    ...(args.restRecording ? { restRecording: args.restRecording } : {}),
    speed: args.speed,
    limits: args.limits,
    synthetic: args.recording
      ? undefined
      : { symbols: args.symbols ?? dflt.symbols, tradesPerSec: args.rate, seed: args.seed, burstiness: args.burstiness },
    log,
  });
  const mode = args.recording ? 'recording' : 'synthetic';
  process.stdout.write(
    `${JSON.stringify({ event: 'simulate.ready', venue: sim.venue, mode, wsUrl: sim.wsUrl, restUrl: sim.restUrl, controlUrl: sim.controlUrl, port: sim.port, env: sim.env })}\n`,
  );
  log.info({ wsUrl: sim.wsUrl, restUrl: sim.restUrl, env: sim.env }, 'simulator running');
  const lifecycle = new Lifecycle(log, config.TICKWORK_SHUTDOWN_TIMEOUT_MS);
  lifecycle.onShutdown('connections', 'simulator', () => sim.close());
  lifecycle.installSignalHandlers();
}
