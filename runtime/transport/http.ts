import { ServiceUnavailableError } from '../errors.js';

export interface GetTextOptions {
  /** Aborts the request (the caller's lifetime). */
  signal?: AbortSignal;
  /** Bound on the whole request, ms. */
  timeoutMs: number;
  /** Names the setting the URL came from, for the error line (e.g. `BINANCE_REST_URL`). */
  variable?: string;
}

/**
 * GET `url` and return its body; any status but 2xx throws SERVICE_UNAVAILABLE with the status
 * and the start of the body. The one place tickwork calls `fetch`.
 */
export async function getText(url: string, opts: GetTextOptions): Promise<string> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const res = await fetch(url, { signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout });
  const body = await res.text();
  if (!res.ok) throw new ServiceUnavailableError(opts.variable ?? 'GET', url, `answered ${res.status}: ${body.slice(0, 200)}`);
  return body;
}

/** An answer of any status: rate-limit answers (429 with Retry-After) are results, not errors. */
export interface HttpResponse {
  status: number;
  body: string;
  /** A response header by (case-insensitive) name, or null. */
  header(name: string): string | null;
}

/**
 * GET `url` and return the answer whatever its status (a caller that honours Retry-After or a
 * used-weight header needs them); only a failed request (refused, timed out, aborted) throws
 * SERVICE_UNAVAILABLE naming `variable`.
 */
export async function getResponse(url: string, opts: GetTextOptions): Promise<HttpResponse> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  let res: Response;
  let body: string;
  try {
    res = await fetch(url, { signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout });
    body = await res.text();
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw new ServiceUnavailableError(opts.variable ?? 'GET', url, err instanceof Error ? err.message : String(err));
  }
  return { status: res.status, body, header: (name) => res.headers.get(name) };
}
