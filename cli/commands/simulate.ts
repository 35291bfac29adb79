import { Option, type Command } from 'commander';
import { loadVenueIds, nonNegativeInt, nonNegativeNumber, speed, venueIdChoices } from '../arguments.js';

interface SimulateFlags {
  venue: string;
  recording?: string;
  restRecording?: string;
  port: number;
  host: string;
  symbols?: string;
  rate: number;
  seed: number;
  burstiness?: number;
  speed: number;
  limits: 'venue' | 'none';
}

/** Before registering: the venue registry's ids, the choices of `--venue` (cli/arguments.ts). */
export const setup = loadVenueIds;

/** `tickwork simulate --venue V`: prints one `simulate.ready` JSON line with the URLs, then serves until stopped. */
export function register(program: Command): void {
  program
    .command('simulate')
    .description("local WebSocket + REST server speaking a venue's protocol (recording replay or synthetic market); prints the <VENUE>_WS_URL to use")
    .addOption(new Option('--venue <venue>', 'venue id').choices(venueIdChoices()).makeOptionMandatory())
    .option('--recording <file>', 'replay this NAME.ws.K.0 recording instead of a synthetic market')
    .option('--rest-recording <file>', "REST bodies to serve with --recording, in the '<url> -> <unix seconds>: <body>' lines of NAME.0 (default: the recording's NAME.0)")
    .option('--port <port>', 'TCP port (0 = ephemeral)', nonNegativeInt, 0)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--symbols <list>', 'canonical symbols, e.g. BTC-USDT,ETH-USDT (synthetic)')
    .option('--rate <n>', 'trades per second across all symbols (synthetic)', nonNegativeNumber, 20)
    .option('--seed <n>', 'random seed (synthetic)', nonNegativeInt, 1)
    .option('--burstiness <x>', '0 = plain Poisson, towards 1 = bursty (synthetic)', nonNegativeNumber)
    .option('--speed <speed>', 'recording replay speed: max, 1x, Nx', speed, 1)
    .addOption(new Option('--limits <mode>', "venue = enforce the venue's rate limits, none = off").choices(['venue', 'none']).default('venue'))
    .action(async (f: SimulateFlags) => {
      const [{ runSimulate }, { list }] = await Promise.all([import('../../app/simulate.js'), import('../../runtime/config.js')]);
      await runSimulate({
        venue: f.venue,
        port: f.port,
        host: f.host,
        rate: f.rate,
        seed: f.seed,
        speed: f.speed,
        limits: f.limits,
        ...(f.recording ? { recording: f.recording } : {}),
        ...(f.restRecording ? { restRecording: f.restRecording } : {}),
        ...(f.symbols ? { symbols: list(f.symbols) } : {}),
        ...(f.burstiness !== undefined ? { burstiness: f.burstiness } : {}),
      });
    });
}
