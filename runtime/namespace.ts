/**
 * Isolation of one deployment (or one test file) from another on shared servers: a namespace
 * prefixes stream names, subjects, Redis keys and the PostgreSQL schema. The empty namespace
 * gives exactly the contract names of DESIGN.md.
 */
export class Namespace {
  constructor(readonly id: string = '') {}

  /** `MD_TRADES` → `t1_MD_TRADES`. */
  stream(name: string): string {
    return this.id ? `${this.id.toUpperCase()}_${name}` : name;
  }

  /** `md.trade.binance.BTC-USDT` → `t1.md.trade.binance.BTC-USDT`. */
  subject(subject: string): string {
    return this.id ? `${this.id}.${subject}` : subject;
  }

  /** Strips the namespace prefix from a received subject. */
  unsubject(subject: string): string {
    return this.id && subject.startsWith(`${this.id}.`) ? subject.slice(this.id.length + 1) : subject;
  }

  /** Redis key prefix: `tw:` or `tw:t1:`. */
  key(key: string): string {
    return this.id ? `tw:${this.id}:${key}` : `tw:${key}`;
  }

  /** Durable consumer / KV / service names. */
  name(name: string): string {
    return this.id ? `${this.id}_${name}` : name;
  }

  /** PostgreSQL schema holding the tables. */
  get pgSchema(): string {
    return this.id ? `tw_${this.id}` : 'public';
  }
}
