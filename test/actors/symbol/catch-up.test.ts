import { describe, expect, it } from 'vitest';
import { CatchUpReader, type CatchUpItem, type CatchUpRead } from '../../../actors/symbol/catch-up.js';
import { silentLogger } from '../../../runtime/logger.js';

/** A stream in memory: message i (1-based) on subject `s<i mod subjects>`, value i. */
class MemoryStream {
  readonly opened: { subject: string | null; afterSeq: number }[] = [];
  /** Messages delivered to readers (passed over ones included): the work a read costs. */
  delivered = 0;
  closed = 0;
  constructor(
    readonly length: number,
    readonly subjects: number,
    readonly endEarlyAt = Infinity,
  ) {}
  subjectOf(seq: number): string {
    return `s${seq % this.subjects}`;
  }
  /** What a read of `subject` alone after `afterSeq` up to `until` gives. */
  expected(subject: string, afterSeq: number, until: number): number[] {
    const out = [];
    for (let i = afterSeq + 1; i <= until; i++) if (this.subjectOf(i) === subject) out.push(i);
    return out;
  }
  last(subject: string): number {
    for (let i = this.length; i > 0; i--) if (this.subjectOf(i) === subject) return i;
    return 0;
  }
  open = async (subject: string | null, afterSeq: number, wanted: (s: string) => boolean): Promise<CatchUpRead<number>> => {
    this.opened.push({ subject, afterSeq });
    const state = { stop: false };
    return {
      [Symbol.asyncIterator]: () => batches(this, subject, afterSeq, wanted, state),
      close: async () => {
        state.stop = true;
        this.closed++;
      },
    };
  };
}

/** The stream's messages after `afterSeq` in batches of 10 sequences: of `subject`, or (null) the wanted subjects'. */
async function* batches(stream: MemoryStream, subject: string | null, afterSeq: number, wanted: (s: string) => boolean, state: { stop: boolean }) {
  const end = Math.min(stream.length, stream.endEarlyAt);
  for (let from = afterSeq + 1; from <= end && !state.stop; from += 10) {
    const items: CatchUpItem<number>[] = [];
    const to = Math.min(from + 9, end);
    for (let seq = from; seq <= to; seq++) {
      const s = stream.subjectOf(seq);
      if (subject !== null ? s !== subject : !wanted(s)) continue;
      items.push({ seq, subject: s, value: seq });
    }
    stream.delivered += subject === null ? to - from + 1 : items.length;
    await Promise.resolve();
    yield { items, lastSeq: to };
  }
}

async function collect(it: AsyncIterable<{ seq: number; value: number }[]>, stopAfter = Infinity): Promise<number[]> {
  const out: number[] = [];
  for await (const batch of it) {
    for (const x of batch) {
      expect(x.value).toBe(x.seq);
      out.push(x.seq);
    }
    if (out.length >= stopAfter) break;
  }
  return out;
}

describe('CatchUpReader', () => {
  it('catch-ups asked together share one read of the stream; each gets exactly its subject after its start up to its end, in order', async () => {
    const stream = new MemoryStream(5_000, 50);
    const reader = new CatchUpReader({ open: stream.open, log: silentLogger, gatherMs: 1, queued: 2 });
    const asks = Array.from({ length: 30 }, (_, k) => ({ subject: `s${k}`, afterSeq: 3_000 + k * 37, until: stream.last(`s${k}`) - (k % 3) * 50 }));
    const got = await Promise.all(asks.map((a) => collect(reader.read(a.subject, a.afterSeq, a.until))));
    asks.forEach((a, k) => expect(got[k]).toEqual(stream.expected(a.subject, a.afterSeq, a.until)));
    expect(stream.opened).toEqual([{ subject: null, afterSeq: 3_000 }]);
    expect(stream.delivered).toBeLessThanOrEqual(2_000 + 10);
    expect(stream.closed).toBe(1);
  });

  it('catch-ups asked while a shared read is under way wait for it, then share one read', async () => {
    const stream = new MemoryStream(5_000, 50);
    const reader = new CatchUpReader({ open: stream.open, log: silentLogger, gatherMs: 1, queued: 1 });
    // The first wave's readers take nothing yet: its read waits on them (back-pressure).
    const first = [reader.read('s1', 3_000, stream.last('s1')), reader.read('s2', 3_100, stream.last('s2'))];
    const heads = first.map((it) => it.next()); // asked (a generator asks when first pulled)
    await new Promise((r) => setTimeout(r, 20));
    expect(stream.opened).toEqual([{ subject: null, afterSeq: 3_000 }]);
    const second = ['s3', 's4', 's5'].map((s) => collect(reader.read(s, 4_000, stream.last(s))));
    await new Promise((r) => setTimeout(r, 20));
    expect(stream.opened).toHaveLength(1);
    const rest = async (k: number) => [...((await heads[k]!).value ?? []).map((x: { seq: number }) => x.seq), ...(await collect(first[k]!))];
    const got = await Promise.all([rest(0), rest(1), ...second]);
    expect(got[0]).toEqual(stream.expected('s1', 3_000, stream.last('s1')));
    expect(got[4]).toEqual(stream.expected('s5', 4_000, stream.last('s5')));
    expect(stream.opened).toEqual([
      { subject: null, afterSeq: 3_000 },
      { subject: null, afterSeq: 4_000 },
    ]);
  });

  it('a lone catch-up, or one far from the others\' end, reads its own subject', async () => {
    const stream = new MemoryStream(300_000, 50);
    const reader = new CatchUpReader({ open: stream.open, log: silentLogger, gatherMs: 1 });
    const one = await collect(reader.read('s7', 299_000, stream.last('s7')));
    expect(one).toEqual(stream.expected('s7', 299_000, stream.last('s7')));
    expect(stream.opened).toEqual([{ subject: 's7', afterSeq: 299_000 }]);
    stream.opened.length = 0;
    const [a, b, far] = await Promise.all([
      collect(reader.read('s1', 298_000, stream.last('s1'))),
      collect(reader.read('s2', 298_500, stream.last('s2'))),
      collect(reader.read('s3', 10, stream.last('s3'))),
    ]);
    expect(a).toEqual(stream.expected('s1', 298_000, stream.last('s1')));
    expect(b).toEqual(stream.expected('s2', 298_500, stream.last('s2')));
    expect(far).toEqual(stream.expected('s3', 10, stream.last('s3')));
    expect(stream.opened).toEqual(
      expect.arrayContaining([
        { subject: null, afterSeq: 298_000 },
        { subject: 's3', afterSeq: 10 },
      ]),
    );
    expect(stream.opened).toHaveLength(2);
  });

  it('a catch-up stopped early (its lease lost) does not hold the shared read back', async () => {
    const stream = new MemoryStream(20_000, 10);
    const reader = new CatchUpReader({ open: stream.open, log: silentLogger, gatherMs: 1, queued: 1 });
    const [stopped, whole] = await Promise.all([collect(reader.read('s1', 0, stream.last('s1')), 5), collect(reader.read('s2', 0, stream.last('s2')))]);
    expect(stopped.length).toBeGreaterThanOrEqual(5);
    expect(whole).toEqual(stream.expected('s2', 0, stream.last('s2')));
  });

  it('nothing to read gives nothing, without a read; a read that ends before a catch-up\'s end fails that catch-up', async () => {
    const stream = new MemoryStream(1_000, 10, 600);
    const reader = new CatchUpReader({ open: stream.open, log: silentLogger, gatherMs: 1 });
    expect(await collect(reader.read('s1', 900, 900))).toEqual([]);
    expect(stream.opened).toEqual([]);
    const results = await Promise.allSettled([collect(reader.read('s1', 500, 550)), collect(reader.read('s2', 500, stream.last('s2')))]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: stream.expected('s1', 500, 550) });
    expect(results[1]!.status).toBe('rejected');
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/ended before sequence 992/);
  });
});
