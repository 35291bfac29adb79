/**
 * A growable circular FIFO (power-of-two capacity, head index): O(1) push/shift without the
 * O(n) `Array#shift` or per-item node allocation of a linked list. Mailboxes grow it on demand
 * up to their bound, so thousands of mostly idle actors stay small.
 */
export class Ring<T> {
  private buf: (T | undefined)[];
  private mask: number;
  private head = 0;
  private count = 0;

  constructor(initialCapacity = 16) {
    let cap = 2;
    while (cap < initialCapacity) cap *= 2;
    this.buf = new Array<T | undefined>(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.buf.length) this.grow();
    this.buf[(this.head + this.count) & this.mask] = item;
    this.count++;
  }

  /** Removes and returns the oldest item; undefined when empty. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.buf[this.head];
    this.buf[this.head] = undefined; // let the message be collected
    this.head = (this.head + 1) & this.mask;
    this.count--;
    return item;
  }

  /** Removes every item, oldest first, into `sink`. */
  drain(sink: (item: T) => void): void {
    while (this.count > 0) sink(this.shift() as T);
  }

  /** Removes every item; returns how many there were. */
  clear(): number {
    const n = this.count;
    this.buf.fill(undefined);
    this.head = 0;
    this.count = 0;
    return n;
  }

  private grow(): void {
    const old = this.buf;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & this.mask];
    this.buf = next;
    this.mask = next.length - 1;
    this.head = 0;
  }
}
