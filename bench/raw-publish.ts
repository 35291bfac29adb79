import { createInbox, headers, type NatsConnection, type Subscription } from '@nats-io/transport-node';

export interface RawMessage {
  subject: string;
  data: Uint8Array;
  msgId: string;
}

/**
 * The transport's own limit for JetStream publishing with the same client library: core NATS
 * publishes carrying `Nats-Msg-Id` and a reply subject on one shared inbox (the server answers
 * each with its PubAck there). `send` is synchronous, so a group of sends in one tick goes to the
 * socket in one write. Every message is still acknowledged and checked. What `js.publish` adds per
 * message (a request with its own timer, deferred and two Error objects with stacks, one socket
 * write per awaited publish) is what this leaves out.
 */
export class RawPublisher {
  private readonly inbox = createInbox();
  private readonly dec = new TextDecoder();
  private readonly sub: Subscription;
  private sent = 0;
  private acked = 0;
  private failure: Error | null = null;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly nc: NatsConnection,
    /** Called with each message's stream sequence, in ack order, with the tag given to `send`. */
    private readonly onAck?: (tag: number, seq: number) => void,
  ) {
    this.sub = nc.subscribe(`${this.inbox}.*`, {
      callback: (err, m) => {
        if (err) this.failure ??= err;
        else {
          const ack = JSON.parse(this.dec.decode(m.data)) as { seq?: number; error?: { description: string } };
          if (ack.error || ack.seq === undefined) this.failure ??= new Error(`PubAck error: ${ack.error?.description ?? 'no seq'}`);
          else if (this.onAck) this.onAck(Number(m.subject.slice(this.inbox.length + 1)), ack.seq);
        }
        this.acked++;
        for (const w of this.waiters.splice(0)) w();
      },
    });
  }

  get inFlight(): number {
    return this.sent - this.acked;
  }

  send(m: RawMessage, tag = this.sent): void {
    if (this.failure) throw this.failure;
    const h = headers();
    h.set('Nats-Msg-Id', m.msgId);
    this.nc.publish(m.subject, m.data, { reply: `${this.inbox}.${tag}`, headers: h });
    this.sent++;
  }

  /** Waits until at most `limit` messages are unacknowledged; a 10 s stall fails (a lost ack must not hang the bench). */
  async waitInFlight(limit: number): Promise<void> {
    while (this.inFlight > limit) {
      const before = this.acked;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((r) => {
        this.waiters.push(r);
        timer = setTimeout(r, 10_000);
      });
      clearTimeout(timer);
      if (this.failure) throw this.failure;
      if (this.acked === before) throw new Error(`no PubAck for 10 s (${this.acked}/${this.sent} acknowledged)`);
    }
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    await this.waitInFlight(0);
    this.sub.unsubscribe();
  }
}

/** Publishes `msgs` in synchronous groups, `maxInFlight` unacknowledged at most; resolves when all are stored. */
export async function rawPublish(nc: NatsConnection, msgs: RawMessage[], opts: { group?: number; maxInFlight?: number } = {}): Promise<void> {
  const group = opts.group ?? 64;
  const maxInFlight = Math.max(opts.maxInFlight ?? 2048, group);
  const pub = new RawPublisher(nc);
  await nc.flush();
  for (let i = 0; i < msgs.length; i += group) {
    await pub.waitInFlight(maxInFlight - group);
    const end = Math.min(msgs.length, i + group);
    for (let j = i; j < end; j++) pub.send(msgs[j]!);
    // Let the client flush the group and the acks come in.
    await new Promise((r) => setImmediate(r));
  }
  await pub.close();
}
