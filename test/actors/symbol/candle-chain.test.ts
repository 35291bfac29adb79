import { describe, expect, it } from 'vitest';
import { CandleChain, EXPECTED_LAST_SUBJECT_SEQ, WRONG_LAST_SEQUENCE, type ChainPort } from '../../../actors/symbol/candle-chain.js';

/** JetStream as measured on 2.9.10 and 2.10.27: Nats-Msg-Id dedupe first, then the expected last subject sequence. */
class FakeStream implements ChainPort {
  seq = 0;
  readonly last = new Map<string, number>();
  readonly ids = new Map<string, number>();
  readonly stored: { subject: string; msgId: string; seq: number }[] = [];
  readonly sent: Record<string, string>[] = [];
  /** Answers are delivered by `answer()` so tests see what is in flight. */
  private readonly queue: (() => void)[] = [];

  send(subject: string, _data: string, msgId: string, headers: Record<string, string>, done: (err: unknown, r: { seq: number; duplicate: boolean } | null) => void): void {
    this.sent.push(headers);
    this.queue.push(() => {
      const dup = this.ids.get(msgId);
      if (dup !== undefined) return done(null, { seq: dup, duplicate: true });
      const expected = headers[EXPECTED_LAST_SUBJECT_SEQ];
      if (expected !== undefined && Number(expected) !== (this.last.get(subject) ?? 0)) return done(Object.assign(new Error('wrong last sequence'), { code: WRONG_LAST_SEQUENCE }), null);
      done(null, { seq: this.write(subject, msgId), duplicate: false });
    });
  }

  write(subject: string, msgId: string): number {
    const seq = ++this.seq;
    this.last.set(subject, seq);
    this.ids.set(msgId, seq);
    this.stored.push({ subject, msgId, seq });
    return seq;
  }

  get inFlight(): number {
    return this.queue.length;
  }

  async answer(): Promise<void> {
    while (this.queue.length) {
      this.queue.shift()!();
      await Promise.resolve();
    }
  }
}

const errCode = (err: unknown) => (err as { code?: number }).code;

describe('CandleChain', () => {
  it('one message in flight per subject, each expecting the previous PubAck; subjects in parallel', async () => {
    const js = new FakeStream();
    const fenced: string[] = [];
    const chain = new CandleChain(js, new Map([['a', 0], ['b', 0]]), { holds: () => true, fenced: (s) => fenced.push(s), errCode });
    const done = [chain.publish('a', '1', 'a1', {}), chain.publish('a', '2', 'a2', {}), chain.publish('b', '1', 'b1', {})];
    expect(js.inFlight).toBe(2); // a1 and b1; a2 waits for a1's sequence
    await js.answer();
    await js.answer();
    expect(await Promise.all(done)).toEqual([true, true, true]);
    expect(js.sent.map((h) => h[EXPECTED_LAST_SUBJECT_SEQ])).toEqual(['0', '0', '1']);
    expect(fenced).toEqual([]);
  });

  it('a re-sent or re-emitted candle is a duplicate whatever it expects, and leaves the chain where it was', async () => {
    const js = new FakeStream();
    js.write('a', 'a1');
    js.write('a', 'a2');
    const chain = new CandleChain(js, new Map([['a', 2]]), { holds: () => true, fenced: () => undefined, errCode });
    const p = [chain.publish('a', '1', 'a1', {}), chain.publish('a', '3', 'a3', {})];
    for (let i = 0; i < 3; i++) await js.answer();
    expect(await Promise.all(p)).toEqual([true, true]);
    expect(js.stored.map((s) => s.msgId)).toEqual(['a1', 'a2', 'a3']);
  });

  it("a stale owner's next candle is refused by JetStream once the new owner has fenced the subject; the rest are dropped", async () => {
    const js = new FakeStream();
    js.write('a', 'a1');
    const fenced: string[] = [];
    const stale = new CandleChain(js, new Map([['a', 1]]), { holds: () => true, fenced: (s) => fenced.push(s), errCode });
    js.write('a', 'fence:9:a'); // the new owner's fence: a copy of the last candle
    const p = [stale.publish('a', '2', 'a2', {}), stale.publish('a', '3', 'a3', {})];
    for (let i = 0; i < 3; i++) await js.answer();
    expect(await Promise.all(p)).toEqual([false, false]);
    expect(fenced).toEqual(['server']);
    expect(js.stored.map((s) => s.msgId)).toEqual(['a1', 'fence:9:a']);
  });

  it('without the lease nothing is sent (the in-process check)', async () => {
    const js = new FakeStream();
    const fenced: string[] = [];
    const chain = new CandleChain(js, new Map([['a', 0]]), { holds: () => false, fenced: (s) => fenced.push(s), errCode });
    expect(await chain.publish('a', '1', 'a1', {})).toBe(false);
    expect(js.sent).toEqual([]);
    expect(fenced).toEqual(['process']);
  });

  it('other publish failures reject (the actor fails and restarts from its snapshot)', async () => {
    const port: ChainPort = { send: (_s, _d, _i, _h, done) => done(new Error('no PubAck within 60000 ms'), null) };
    const chain = new CandleChain(port, new Map([['a', 0]]), { holds: () => true, fenced: () => undefined, errCode });
    await expect(chain.publish('a', '1', 'a1', {})).rejects.toThrow(/no PubAck/);
  });
});
