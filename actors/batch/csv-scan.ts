/**
 * The scan of Binance's public CSV dumps (DESIGN.md replay formats `binance-trades-csv`,
 * `binance-aggtrades-csv`) for the batch path: where each trade's fields are in a text of whole
 * lines, not the trades themselves. It runs on the file reader's thread (csv-worker.ts), so the
 * thread running the window kernel only cuts the three strings the kernel keeps out of the text
 * (file-source.ts). Numbers and flags are read by hand, a character at a time: no substring or
 * regular expression per field.
 */
export type CsvFormat = 'binance-trades-csv' | 'binance-aggtrades-csv';

/** The trades of one text of whole lines, as positions in it (transferable arrays). */
export interface ScannedText {
  text: string;
  /** Trades found. */
  n: number;
  /** Per trade: line start (the id), the commas after the id, the price and the quantity. */
  at: Int32Array;
  /** Per trade: time, epoch ms. */
  ts: Float64Array;
  /** Per trade: 1 when the taker sold (isBuyerMaker true). */
  sell: Uint8Array;
  /** Per trade: trades aggregated (aggTrades: lastId − firstId + 1); null for the trades layout (1 each). */
  count: Float64Array | null;
}

export interface Skipped {
  count: number;
  /** The first 20, with their line numbers. */
  examples: string[];
}

const MAX_EXAMPLES = 20;

export class CsvScanner {
  readonly skipped: Skipped = { count: 0, examples: [] };
  private readonly agg: boolean;
  private readonly fields: number;
  private readonly timeField: number;
  private readonly layout: string;
  /** Field boundaries of the current line: field k is text[pos[k], pos[k + 1] - 1). */
  private readonly pos: Int32Array;
  /** Lines scanned so far (the number of the current line). */
  private line = 0;

  constructor(format: CsvFormat) {
    this.agg = format === 'binance-aggtrades-csv';
    // trades:    id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch
    // aggTrades: aggId,price,qty,firstId,lastId,time,isBuyerMaker,isBestMatch
    this.fields = this.agg ? 8 : 7;
    this.timeField = this.agg ? 5 : 4;
    this.layout = `expected ${this.fields} fields of the ${format} layout`;
    this.pos = new Int32Array(this.fields + 1);
  }

  /** The trades of `text`, whole lines each ending with a newline (a last line without one is taken too). */
  scan(text: string): ScannedText {
    // A trade's line holds at least 12 characters (`1,,,,1,true,`: empty prices are the kernel's
    // to refuse), its newline aside: the arrays never need to grow.
    const cap = Math.ceil(text.length / 12) + 1;
    const at = new Int32Array(cap * 4);
    const ts = new Float64Array(cap);
    const sell = new Uint8Array(cap);
    const count = this.agg ? new Float64Array(cap) : null;
    const { fields, timeField, pos } = this;
    const end = text.length;
    let n = 0;
    for (let start = 0; start < end; ) {
      let stop = text.indexOf('\n', start);
      if (stop < 0) stop = end;
      const lineEnd = stop > start && text.charCodeAt(stop - 1) === 13 ? stop - 1 : stop;
      const lineStart = start;
      start = stop + 1;
      this.line++;
      if (lineEnd === lineStart) continue;
      pos[0] = lineStart;
      let k = 1;
      for (let i = lineStart; k < fields && i < lineEnd; ) {
        const comma = text.indexOf(',', i);
        if (comma < 0 || comma >= lineEnd) break;
        pos[k++] = comma + 1;
        i = comma + 1;
      }
      pos[fields] = lineEnd + 1;
      const idEnd = pos[1]! - 1;
      const time = k === fields ? digits(text, pos[timeField]!, pos[timeField + 1]! - 1) : -1;
      if (time < 0 || digits(text, lineStart, idEnd) < 0) {
        if (this.line !== 1 || k !== fields) this.skip(this.layout); // line 1 may be a header
        continue;
      }
      // isBuyerMaker: true/True → the taker sold; false/False → the taker bought.
      const m = pos[timeField + 1]!;
      const mLen = pos[timeField + 2]! - 1 - m;
      const c = text.charCodeAt(m) | 32;
      const sold = c === 116 && mLen === 4;
      if (!sold && !(c === 102 && mLen === 5)) {
        this.skip(this.layout);
        continue;
      }
      if (count) {
        const first = digits(text, pos[3]!, pos[4]! - 1);
        const last = digits(text, pos[4]!, pos[5]! - 1);
        if (first < 0 || !(last >= first)) {
          this.skip(first < 0 ? this.layout : 'lastId < firstId');
          continue;
        }
        count[n] = last - first + 1;
      }
      at[4 * n] = lineStart;
      at[4 * n + 1] = idEnd;
      at[4 * n + 2] = pos[2]! - 1;
      at[4 * n + 3] = pos[3]! - 1;
      ts[n] = time > 1e14 ? Math.floor(time / 1000) : time; // dumps since 2025 use microseconds
      sell[n] = sold ? 1 : 0;
      n++;
    }
    return { text, n, at, ts, sell, count };
  }

  private skip(why: string): void {
    this.skipped.count++;
    if (this.skipped.examples.length < MAX_EXAMPLES) this.skipped.examples.push(`line ${this.line}: ${why}`);
  }
}

/** Digits of text[from, to) as a number; −1 unless 1–19 ASCII digits. */
function digits(text: string, from: number, to: number): number {
  if (to <= from || to - from > 19) return -1;
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}
