/** Header JetStream checks against the subject's last stored sequence before storing a message. */
export const EXPECTED_LAST_SUBJECT_SEQ = 'Nats-Expected-Last-Subject-Sequence';

/** JetStream's answer to a stale expected sequence: someone else wrote on the subject. */
export const WRONG_LAST_SEQUENCE = 10071;

/** How a chain publishes one message (a PipelinedPublisher underneath; retries keep the same id). */
export interface ChainPort {
  send(subject: string, data: string, msgId: string, headers: Record<string, string>, done: (err: unknown, result: { seq: number; duplicate: boolean } | null) => void): void;
}

/** A JetStream refusal code carried by a publish error, if any (runtime/nats PubAckError). */
export type ErrCodeOf = (err: unknown) => number | undefined;

interface Pending {
  subject: string;
  data: string;
  msgId: string;
  headers: Record<string, string>;
  resolve: (stored: boolean) => void;
  reject: (err: unknown) => void;
}

interface SubjectChain {
  /** The subject's last sequence as this owner knows it: its own last stored message, or the fence. */
  last: number;
  queue: Pending[];
  inFlight: boolean;
}

/**
 * Fenced candle publishing for one symbol: every message on a candle subject carries
 * `Nats-Expected-Last-Subject-Sequence` = the sequence of this owner's previous message on that
 * subject (or of the fence it set when it acquired the symbol), so JetStream refuses it once
 * anyone else has written there since. One message in flight per subject (the next expected
 * sequence is the previous PubAck's); subjects and symbols run in parallel.
 *
 * Measured on nats-server 2.9.10 and 2.10.27: the Nats-Msg-Id duplicate check comes first, so a
 * retry of a message already stored (reconnect, overdue PubAck) is answered "duplicate" whatever
 * its expected sequence, and a re-emitted candle (restart, takeover) is a duplicate too; only a
 * new message behind a foreign write is refused (10071 "wrong last sequence").
 */
export class CandleChain {
  private readonly subjects = new Map<string, SubjectChain>();
  private closed = false;

  constructor(
    private readonly port: ChainPort,
    /** Last sequence of each candle subject when the chain starts (after the owner's fence). */
    initial: ReadonlyMap<string, number>,
    private readonly hooks: {
      /** In-process lease check before each send. */
      holds(): boolean;
      /** A send refused because of the lease: in-process (`stage` process) or by JetStream (`server`). */
      fenced(stage: 'process' | 'server'): void;
      errCode: ErrCodeOf;
    },
  ) {
    for (const [subject, last] of initial) this.subjects.set(subject, { last, queue: [], inFlight: false });
  }

  /** Resolves true once stored (or found a duplicate), false when refused by a fence; rejects on other publish failures. */
  publish(subject: string, data: string, msgId: string, headers: Record<string, string>): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      let chain = this.subjects.get(subject);
      if (chain === undefined) {
        // A subject the acquisition did not fence (a timeframe added since): unchecked until its first message.
        chain = { last: -1, queue: [], inFlight: false };
        this.subjects.set(subject, chain);
      }
      chain.queue.push({ subject, data, msgId, headers, resolve, reject });
      if (!chain.inFlight) this.next(chain);
    });
  }

  /** Refuses everything queued and anything later (the symbol is lost). */
  close(): void {
    this.closed = true;
    for (const chain of this.subjects.values()) for (const p of chain.queue.splice(0)) p.resolve(false);
  }

  private next(chain: SubjectChain): void {
    const p = chain.queue.shift();
    if (p === undefined) {
      chain.inFlight = false;
      return;
    }
    if (this.closed || !this.hooks.holds()) {
      this.hooks.fenced('process');
      p.resolve(false);
      this.next(chain);
      return;
    }
    chain.inFlight = true;
    const headers = chain.last >= 0 ? { ...p.headers, [EXPECTED_LAST_SUBJECT_SEQ]: String(chain.last) } : p.headers;
    this.port.send(p.subject, p.data, p.msgId, headers, (err, r) => {
      // A duplicate stored after this chain's own last message was written by someone else since
      // the fence (possible only on a subject that was empty then): as refused as a 10071.
      const foreign = r !== null && r.duplicate && chain.last >= 0 && r.seq > chain.last;
      if (r !== null && !foreign) {
        // A duplicate leaves the subject as it was: the chain keeps its sequence.
        if (!r.duplicate) chain.last = r.seq;
        p.resolve(true);
      } else if (foreign || this.hooks.errCode(err) === WRONG_LAST_SEQUENCE) {
        this.hooks.fenced('server');
        this.close();
        p.resolve(false);
      } else p.reject(err);
      this.next(chain);
    });
  }
}
