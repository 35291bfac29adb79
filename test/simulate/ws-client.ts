import WebSocket from 'ws';

/** A small WebSocket client for simulator tests: records every frame with its arrival order. */
export interface TestClient {
  ws: WebSocket;
  frames: Array<{ text: string; binary: boolean; data: Buffer }>;
  texts(): string[];
  json(): unknown[];
  closed: Promise<{ code: number; reason: string }>;
  isClosed(): boolean;
  send(msg: unknown): void;
  close(): void;
}

export async function connect(url: string, opts: WebSocket.ClientOptions = {}): Promise<TestClient> {
  const ws = new WebSocket(url, { perMessageDeflate: false, ...opts });
  const frames: TestClient['frames'] = [];
  let isClosed = false;
  ws.on('message', (data: Buffer, binary: boolean) => frames.push({ text: binary ? '' : data.toString('utf8'), binary, data }));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => {
      isClosed = true;
      resolve({ code, reason: reason.toString() });
    }),
  );
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
  return {
    ws,
    frames,
    texts: () => frames.filter((f) => !f.binary).map((f) => f.text),
    json: () => frames.filter((f) => !f.binary).map((f) => JSON.parse(f.text) as unknown),
    closed,
    isClosed: () => isClosed,
    send: (msg) => ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg)),
    close: () => ws.terminate(),
  };
}

/** HTTP status of an upgrade attempt: 101 when accepted (the socket is closed again), else the refusal status; 0 when the socket was cut. */
export function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('unexpected-response', (req, res) => {
      resolve(res.statusCode ?? -1);
      req.destroy();
    });
    ws.once('error', () => resolve(0));
  });
}

export async function until(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function control(controlUrl: string, action: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${controlUrl}/${action}`, body === undefined && action === 'stats' ? {} : { method: 'POST', body: JSON.stringify(body ?? {}) });
  return { status: res.status, body: await res.json() };
}
