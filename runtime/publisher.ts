import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';

export interface PublishResult {
  seq: number;
  duplicate: boolean;
}

export interface PipelinedPublisherOptions {
  /** Publishes awaiting their PubAck at most; `publish` waits for room beyond it (back-pressure). */
  maxInFlight?: number;
  /** PubAck timeout per message, ms. */
  timeoutMs?: number;
  /** Attempts per message before the error surfaces (a lost ack is retried: Nats-Msg-Id makes it safe). */
  attempts?: number;
}

/**
 * JetStream publication without one awaited round trip per message: up to `maxInFlight`
 * publishes are outstanding, each still confirmed by its PubAck. A message counts as stored
 * only when its promise resolves; `flush()` waits for everything sent so far. Every message
 * carries a `Nats-Msg-Id`, so a retry after a lost ack is stored once.
 */
export class PipelinedPublisher {
  private inFlight = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly idle: (() => void)[] = [];
  private readonly maxInFlight: number;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly enc = new TextEncoder();

  constructor(
    private readonly js: JetStreamClient,
    opts: PipelinedPublisherOptions = {},
  ) {
    this.maxInFlight = opts.maxInFlight ?? 1024;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.attempts = opts.attempts ?? 3;
  }

  get pending(): number {
    return this.inFlight;
  }

  /**
   * Sends one message. Resolves (to the ack promise) once it is on the wire, which may wait
   * when `maxInFlight` are outstanding; the inner promise resolves when JetStream stored it.
   */
  async publish(subject: string, data: string | Uint8Array, msgId: string, headers?: MsgHdrs): Promise<{ stored: Promise<PublishResult> }> {
    while (this.inFlight >= this.maxInFlight) await new Promise<void>((r) => this.waiters.push(r));
    this.inFlight++;
    const payload = typeof data === 'string' ? this.enc.encode(data) : data;
    const stored = this.send(subject, payload, msgId, headers).finally(() => this.release());
    // Callers that only flush() must not see an unhandled rejection; the error stays on `stored`.
    stored.catch(() => undefined);
    return { stored };
  }

  /** Waits until every message published so far is acknowledged (or failed). */
  flush(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private async send(subject: string, payload: Uint8Array, msgId: string, headers?: MsgHdrs): Promise<PublishResult> {
    let lastErr: unknown;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        const ack: PubAck = await this.js.publish(subject, payload, {
          msgID: msgId,
          timeout: this.timeoutMs,
          ...(headers ? { headers } : {}),
        });
        return { seq: ack.seq, duplicate: ack.duplicate };
      } catch (err) {
        lastErr = err;
      }
    }
    throw lastErr;
  }

  private release(): void {
    this.inFlight--;
    this.waiters.shift()?.();
    if (this.inFlight === 0) for (const r of this.idle.splice(0)) r();
  }
}
