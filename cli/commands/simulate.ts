import { InvalidArgumentError, type Command } from 'commander';
import { list, loadCoreConfig } from '../../runtime/config.js';
import { Lifecycle } from '../../runtime/lifecycle.js';
import { createLogger } from '../../runtime/logger.js';
import { defaultSynthetic, parseSpeed, SIM_VENUES, startSimulator, type SimVenue } from '../../simulate/index.js';

interface SimulateFlags {
  venue: SimVenue;
  recording?: string;
  port: number;
  host: string;
  symbols?: string;
  rate: number;
  seed: number;
  burstiness?: number;
  speed: number;
  limits: 'venue' | 'none';
}

const int = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
  return Number(v);
};
const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative number`);
  return n;
};

/**
 * `tickwork simulate --venue V`: a local exchange for tests, demos and load. Prints one JSON line
 * (`{"event":"simulate.ready","venue","mode","wsUrl","restUrl","controlUrl","port"}`) on stdout
 * before anything else, then runs until SIGTERM/SIGINT.
 */
export function register(program: Command): void {
  program
    .command('simulate')
    .description("local WebSocket + REST server speaking a venue's protocol (recording replay or synthetic market)")
    .requiredOption('--venue <venue>', `one of ${SIM_VENUES.join(', ')}`, (v: string) => {
      if (!(SIM_VENUES as readonly string[]).includes(v)) throw new InvalidArgumentError(`venue must be one of ${SIM_VENUES.join(', ')}`);
      return v as SimVenue;
    })
    .option('--recording <file>', 'replay this NAME.ws.K.0 recording instead of a synthetic market')
    .option('--port <port>', 'TCP port (0 = ephemeral)', int('port'), 0)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--symbols <list>', 'canonical symbols, e.g. BTC-USDT,ETH-USDT (synthetic)')
    .option('--rate <n>', 'trades per second across all symbols (synthetic)', num('rate'), 20)
    .option('--seed <n>', 'random seed (synthetic)', int('seed'), 1)
    .option('--burstiness <x>', '0 = plain Poisson, towards 1 = bursty (synthetic)', num('burstiness'))
    .option('--speed <speed>', 'recording replay speed: max, 1x, Nx', (v: string) => {
      try {
        return parseSpeed(v);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
    }, 1)
    .option('--limits <mode>', "venue = enforce the venue's rate limits, none = off", (v: string) => {
      if (v !== 'venue' && v !== 'none') throw new InvalidArgumentError('limits must be venue or none');
      return v;
    }, 'venue')
    .action(async (flags: SimulateFlags) => {
      const config = loadCoreConfig();
      const log = createLogger(config.LOG_LEVEL, { role: 'simulate', venue: flags.venue });
      const base = defaultSynthetic(flags.venue);
      const sim = await startSimulator({
        venue: flags.venue,
        host: flags.host,
        port: flags.port,
        recording: flags.recording,
        speed: flags.speed,
        limits: flags.limits,
        synthetic: flags.recording
          ? undefined
          : {
              symbols: flags.symbols ? list(flags.symbols) : base.symbols,
              tradesPerSec: flags.rate,
              seed: flags.seed,
              burstiness: flags.burstiness,
            },
        log,
      });
      process.stdout.write(
        `${JSON.stringify({ event: 'simulate.ready', venue: sim.venue, mode: flags.recording ? 'recording' : 'synthetic', wsUrl: sim.wsUrl, restUrl: sim.restUrl, controlUrl: sim.controlUrl, port: sim.port })}\n`,
      );
      log.info({ wsUrl: sim.wsUrl, restUrl: sim.restUrl }, 'simulator running');
      const lifecycle = new Lifecycle(log, config.TICKWORK_SHUTDOWN_TIMEOUT_MS);
      lifecycle.onShutdown('connections', 'simulator', () => sim.close());
      lifecycle.installSignalHandlers();
    });
}
