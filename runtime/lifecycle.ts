import type { Logger } from './logger.js';
import { TickworkError } from './errors.js';

/**
 * Shutdown phases in the order they run: stop taking new work, drain actors and flush their
 * snapshots, then close connections. Within a phase, steps run in registration order.
 */
export const SHUTDOWN_PHASES = ['intake', 'actors', 'connections'] as const;
export type ShutdownPhase = (typeof SHUTDOWN_PHASES)[number];

export interface ShutdownStep {
  name: string;
  phase: ShutdownPhase;
  run: () => Promise<void> | void;
}

/**
 * Graceful shutdown: on SIGTERM/SIGINT run every step in order, each bounded by what is left of
 * the overall timeout, then exit 0 (1 if a step failed or time ran out). A second signal exits at once.
 */
export class Lifecycle {
  private readonly steps: ShutdownStep[] = [];
  private stopping: Promise<void> | null = null;
  private readonly handlers = new Map<NodeJS.Signals, () => void>();

  constructor(
    private readonly log: Logger,
    private readonly timeoutMs: number,
  ) {}

  onShutdown(phase: ShutdownPhase, name: string, run: ShutdownStep['run']): this {
    this.steps.push({ name, phase, run });
    return this;
  }

  /** Installs SIGTERM/SIGINT handlers that shut down and exit the process. */
  installSignalHandlers(exit: (code: number) => void = (code) => process.exit(code)): void {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const handler = () => {
        if (this.stopping) {
          this.log.warn({ signal }, 'second signal, exiting now');
          exit(1);
          return;
        }
        this.log.info({ signal }, 'shutting down');
        this.shutdown().then(
          () => exit(0),
          (err: unknown) => {
            this.log.error({ err }, 'shutdown failed');
            exit(1);
          },
        );
      };
      this.handlers.set(signal, handler);
      process.on(signal, handler);
    }
  }

  get isStopping(): boolean {
    return this.stopping !== null;
  }

  shutdown(): Promise<void> {
    this.stopping ??= this.runSteps();
    return this.stopping;
  }

  private async runSteps(): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    let failed: unknown = null;
    const ordered = SHUTDOWN_PHASES.flatMap((phase) => this.steps.filter((s) => s.phase === phase));
    for (const step of ordered) {
      const left = deadline - Date.now();
      if (left <= 0) {
        failed = new TickworkError('SHUTDOWN_TIMEOUT', `shutdown timed out before step ${step.name}`);
        this.log.error({ step: step.name }, 'shutdown timed out');
        break;
      }
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(step.run),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new TickworkError('SHUTDOWN_TIMEOUT', `step ${step.name} exceeded ${left} ms`)),
              left,
            );
          }),
        ]);
        this.log.debug({ step: step.name, ms: Date.now() - started }, 'shutdown step done');
      } catch (err) {
        failed ??= err;
        this.log.error({ step: step.name, err }, 'shutdown step failed');
      } finally {
        clearTimeout(timer);
      }
    }
    for (const [signal, handler] of this.handlers) process.off(signal, handler);
    if (failed) throw failed;
  }
}
