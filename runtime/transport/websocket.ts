import WebSocket from 'ws';
import { ServiceUnavailableError, TickworkError } from '../errors.js';
import type { RateLimiter } from '../rate-limit.js';

/** A named client-message budget (per connection, per IP, per subscription request...). */
export interface SendBudget {
  name: string;
  limiter: RateLimiter;
}

export type SocketEnd = 'error' | 'closed';

export interface SocketLinkOptions {
  url: string;
  /** The setting the URL came from (e.g. `BINANCE_WS_URL`), named when the server cannot be reached. */
  variable: string;
  connectTimeoutMs: number;
  /** Ends the socket (terminate) when aborted; also aborts waits for a send budget. */
  signal: AbortSignal;
  /** Budgets every send spends (the connection's and the IP's), in order. */
  budgets: readonly SendBudget[];
  /** Called when a send waits for a budget (for metrics). */
  onThrottled?: (budget: string) => void;
  /**
   * One received frame, raw bytes (UTF-8 is not validated here: a bad text frame must not close
   * the connection and lose what is queued behind it). A returned promise pauses reading until
   * it settles: TCP back-pressure to the sender.
   */
  onFrame: (data: Buffer, recvTs: number) => void | Promise<void>;
  /** The socket failed or was closed by the other side (not after `discard`). */
  onEnd: (how: SocketEnd, err: Error) => void;
}

/**
 * One client WebSocket with its outgoing budgets: opens (within a handshake timeout), delivers
 * frames with back-pressure, sends within budgets, and can be discarded so that nothing it does
 * afterwards reaches the owner. Knows nothing of what the frames mean.
 */
export class SocketLink {
  readonly openedAt: number;

  private constructor(
    private readonly ws: WebSocket,
    private readonly opts: SocketLinkOptions,
  ) {
    this.openedAt = Date.now();
  }

  /** Resolves once the socket is open; rejects with the handshake or connection error. */
  static open(opts: SocketLinkOptions): Promise<SocketLink> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(opts.url, { handshakeTimeout: opts.connectTimeoutMs, perMessageDeflate: false, skipUTF8Validation: true });
      const onAbort = (): void => ws.terminate();
      opts.signal.addEventListener('abort', onAbort, { once: true });
      ws.once('open', () => resolve(new SocketLink(ws, opts)));
      ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
        const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
        const wait = opts.onFrame(buf, Date.now());
        if (wait !== undefined) {
          ws.pause();
          wait.then(
            () => ws.resume(),
            () => undefined,
          );
        }
      });
      ws.on('error', (err) => {
        // Before `open` this is the connect failing: one line naming the server and the setting.
        const e = new ServiceUnavailableError(opts.variable, opts.url, err.message, { cause: err });
        reject(e);
        opts.onEnd('error', e);
      });
      ws.once('close', (code, reason) => {
        opts.signal.removeEventListener('abort', onAbort);
        const err = new TickworkError('SERVICE_UNAVAILABLE', `${opts.url} closed the connection: ${code} ${reason.toString().slice(0, 100)}`);
        reject(err);
        opts.onEnd('closed', err);
      });
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends one text frame once every budget (the link's, then `extra`) allows it; dropped if the socket closed meanwhile. */
  async send(frame: string, extra: readonly SendBudget[] = []): Promise<void> {
    if (!this.isOpen) return;
    for (const b of extra) await this.within(b);
    for (const b of this.opts.budgets) await this.within(b);
    if (this.isOpen) this.ws.send(frame);
  }

  /** Detaches the socket: no more frames or end events reach the owner; late errors are swallowed. */
  discard(how: 'close' | 'terminate'): void {
    this.ws.removeAllListeners();
    this.ws.on('error', () => undefined);
    if (how === 'close') this.ws.close(1000);
    else this.ws.terminate();
  }

  private async within(b: SendBudget): Promise<void> {
    if (b.limiter.tryTake()) return;
    this.opts.onThrottled?.(b.name);
    await b.limiter.take(1, this.opts.signal);
  }
}
