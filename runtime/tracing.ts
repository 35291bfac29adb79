import { Type, type Static } from '@sinclair/typebox';
// Types only (erased): a process without OTEL_EXPORTER_OTLP_ENDPOINT loads no OpenTelemetry module.
import type { Attributes, Context, Span, TextMapGetter, Tracer as OtelTracer } from '@opentelemetry/api';
import type { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Sampler, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type * as semconv from '@opentelemetry/semantic-conventions';
import type * as incubating from '@opentelemetry/semantic-conventions/incubating';
import { configError, loadEnv } from './config.js';
import type { Logger } from './logger.js';

/**
 * Distributed tracing (OpenTelemetry): a sampled trade's trace runs frame → feed publish → worker
 * apply → candle publish → sink upsert, its context carried between processes in the W3C
 * `traceparent` (and `tracestate`) NATS headers.
 *
 * Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set: then
 * `tracing.tracer` stays null, the hot paths check that one field and allocate nothing, and no
 * OpenTelemetry module is loaded. On, the SDK is imported at start-up, spans sampled by the
 * standard OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (default parentbased_traceidratio 0.001:
 * one trade in a thousand starts a trace; workers and sinks follow the sampled flag they receive)
 * and exported in batches over OTLP/HTTP; shutdown flushes what is buffered.
 */

/** W3C trace-context header names, as carried on NATS messages. */
export const TRACEPARENT_HEADER = 'traceparent';
export const TRACESTATE_HEADER = 'tracestate';

/** A trace context to continue: the W3C headers of the message that carried it. */
export interface TraceParent {
  traceparent: string;
  tracestate?: string | undefined;
}

/** A recording span: its own context to carry on (as W3C headers), ended exactly once. */
export interface TraceSpan extends TraceParent {
  /** Ends the span; an error marks it failed. */
  end(err?: unknown): void;
}

export type SpanRole = 'producer' | 'consumer' | 'client' | 'internal';

export interface SpanOptions {
  role: SpanRole;
  attributes?: Attributes;
  /** Start time, ms since the epoch (e.g. when the frame arrived); default now. */
  startMs?: number;
}

/** What the hot paths see of OpenTelemetry. */
export interface Tracer {
  /**
   * The cheap part of the root sampling decision, taken before a caller builds anything: false
   * means no trace starts now; true means call `root`, which may still return null.
   */
  sample(): boolean;
  /** A new trace's root span, or null when the sampler drops it. */
  root(name: string, opts: SpanOptions): TraceSpan | null;
  /** A span continuing a carried context, or null when the context is unreadable or not sampled. */
  child(name: string, parent: TraceParent, opts: SpanOptions): TraceSpan | null;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** The process's tracer: null while tracing is off (the one check the hot paths make). */
export const tracing: { tracer: Tracer | null } = { tracer: null };

/**
 * Attribute names from the OpenTelemetry semantic conventions (checked against the package's
 * types at compile time; as plain strings so that call sites load nothing).
 */
export const ATTR = {
  messagingSystem: 'messaging.system' satisfies typeof incubating.ATTR_MESSAGING_SYSTEM,
  messagingDestination: 'messaging.destination.name' satisfies typeof incubating.ATTR_MESSAGING_DESTINATION_NAME,
  dbSystem: 'db.system.name' satisfies typeof semconv.ATTR_DB_SYSTEM_NAME,
  dbOperation: 'db.operation.name' satisfies typeof semconv.ATTR_DB_OPERATION_NAME,
  dbCollection: 'db.collection.name' satisfies typeof semconv.ATTR_DB_COLLECTION_NAME,
} as const;

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;
type SamplerName = (typeof SAMPLERS)[number];

/** The standard OpenTelemetry variables tickwork reads (the exporter reads OTEL_EXPORTER_OTLP_HEADERS/_TIMEOUT/... itself). */
export const TracingEnv = Type.Object({
  OTEL_SDK_DISABLED: Type.Union([Type.Literal('true'), Type.Literal('false')], { default: 'false', description: 'true or false' }),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.String({
    default: '',
    pattern: '^(https?://[^\\s/]+[^\\s]*)?$',
    description: 'the http(s) base URL of an OTLP/HTTP receiver, e.g. http://otel-collector:4318 (traces go to <url>/v1/traces; unset: tracing off)',
  }),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Type.String({
    default: '',
    pattern: '^(https?://[^\\s/]+[^\\s]*)?$',
    description: 'the full http(s) URL traces are posted to, e.g. http://otel-collector:4318/v1/traces',
  }),
  OTEL_EXPORTER_OTLP_PROTOCOL: Type.Union([Type.Literal('http/protobuf'), Type.Literal('http/json')], {
    default: 'http/protobuf',
    description: 'http/protobuf or http/json (grpc is not supported)',
  }),
  OTEL_TRACES_SAMPLER: Type.Union(
    SAMPLERS.map((s) => Type.Literal(s)),
    { default: 'parentbased_traceidratio', description: `one of ${SAMPLERS.join(', ')}` },
  ),
  OTEL_TRACES_SAMPLER_ARG: Type.Number({ default: 0.001, minimum: 0, maximum: 1, description: 'a sampling ratio from 0 to 1, e.g. 0.001' }),
});
export type TracingConfig = Static<typeof TracingEnv>;

/** Checks the OTEL variables (a bad one: ConfigError naming it); null when tracing is off. */
export function loadTracingConfig(env: NodeJS.ProcessEnv = process.env): TracingConfig | null {
  const cfg = loadEnv(TracingEnv, env);
  // The protocol's own variable for traces overrides the general one (OpenTelemetry rules).
  const perSignal = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL;
  if (perSignal !== undefined && perSignal !== '') {
    if (perSignal !== 'http/protobuf' && perSignal !== 'http/json') throw configError('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', perSignal, 'http/protobuf or http/json (grpc is not supported)');
    cfg.OTEL_EXPORTER_OTLP_PROTOCOL = perSignal;
  }
  if (cfg.OTEL_SDK_DISABLED === 'true') return null;
  if (cfg.OTEL_EXPORTER_OTLP_ENDPOINT === '' && cfg.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT === '') return null;
  return cfg;
}

/** Where spans are posted: the traces endpoint as given, else <endpoint>/v1/traces. */
export function tracesUrl(cfg: TracingConfig): string {
  if (cfg.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== '') return cfg.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  return `${cfg.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
}

export interface StartTracingOptions {
  /** service.name, e.g. `tickwork-worker`. */
  service: string;
  /** Extra resource attributes (e.g. the namespace). */
  resource?: Attributes;
  log: Logger;
  /** Test port: an exporter instead of OTLP/HTTP. */
  exporter?: SpanExporter;
}

/**
 * Starts tracing for this process when the OTEL variables ask for it (sets `tracing.tracer`);
 * null when off. A process starts it once: a second call returns the first tracer.
 */
export async function startTracing(cfg: TracingConfig | null, opts: StartTracingOptions): Promise<Tracer | null> {
  if (cfg === null) return null;
  if (tracing.tracer !== null) return tracing.tracer;
  const [api, core, sdk, resources] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
  ]);
  const url = tracesUrl(cfg);
  const exporter = opts.exporter ?? (await otlpExporter(cfg.OTEL_EXPORTER_OTLP_PROTOCOL, url));
  const plan = samplingPlan(sdk, cfg.OTEL_TRACES_SAMPLER, cfg.OTEL_TRACES_SAMPLER_ARG);
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': opts.service, ...opts.resource }),
    sampler: plan.sampler,
    spanProcessors: [new sdk.BatchSpanProcessor(exporter)],
  });
  // Export failures (collector down) reach the log, not stderr; the SDK keeps going without them.
  const log = opts.log.child({ component: 'tracing' });
  api.diag.setLogger(
    {
      error: (msg, ...args) => log.warn({ detail: args.map(String).join(' ').slice(0, 300) }, `opentelemetry: ${msg}`),
      warn: (msg, ...args) => log.warn({ detail: args.map(String).join(' ').slice(0, 300) }, `opentelemetry: ${msg}`),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    { logLevel: api.DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  const tracer = new OtelBackedTracer(api, new core.W3CTraceContextPropagator(), provider.getTracer('tickwork'), plan.rootRatio, () => provider.shutdown());
  tracing.tracer = tracer;
  log.info({ url, protocol: cfg.OTEL_EXPORTER_OTLP_PROTOCOL, sampler: cfg.OTEL_TRACES_SAMPLER, ratio: cfg.OTEL_TRACES_SAMPLER_ARG, service: opts.service }, 'tracing on');
  return tracer;
}

async function otlpExporter(protocol: TracingConfig['OTEL_EXPORTER_OTLP_PROTOCOL'], url: string): Promise<SpanExporter> {
  if (protocol === 'http/json') return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url });
  return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter({ url });
}

type Sdk = typeof import('@opentelemetry/sdk-trace-base');

/**
 * The SDK's sampler, and the share of roots to start decided up front (null: the SDK decides).
 * Measured: an unsampled SDK root span (ids, sampler, non-recording span) costs ~4 µs per trade;
 * a coin toss first costs nanoseconds. For parentbased_traceidratio a toss with probability r is
 * the same decision as the ratio sampler over random trace ids (children follow their parent's
 * flag either way), so roots are tossed and the SDK samples what passes. Plain `traceidratio`
 * stays with the SDK: every process must decide on the trace id alone to agree.
 */
function samplingPlan(sdk: Sdk, name: SamplerName, ratio: number): { sampler: Sampler; rootRatio: number | null } {
  switch (name) {
    case 'always_on':
      return { sampler: new sdk.AlwaysOnSampler(), rootRatio: 1 };
    case 'always_off':
      return { sampler: new sdk.AlwaysOffSampler(), rootRatio: 0 };
    case 'traceidratio':
      return { sampler: new sdk.TraceIdRatioBasedSampler(ratio), rootRatio: null };
    case 'parentbased_always_on':
      return { sampler: new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() }), rootRatio: 1 };
    case 'parentbased_always_off':
      return { sampler: new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() }), rootRatio: 0 };
    case 'parentbased_traceidratio':
      return { sampler: new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() }), rootRatio: ratio };
  }
}

const getter: TextMapGetter<TraceParent> = {
  keys: (c) => (c.tracestate === undefined ? [TRACEPARENT_HEADER] : [TRACEPARENT_HEADER, TRACESTATE_HEADER]),
  get: (c, key) => (key === TRACEPARENT_HEADER ? c.traceparent : key === TRACESTATE_HEADER ? c.tracestate : undefined),
};

type Api = typeof import('@opentelemetry/api');

/** The Tracer port over the OpenTelemetry API and SDK. */
class OtelBackedTracer implements Tracer {
  private readonly kinds: Record<SpanRole, number>;

  constructor(
    private readonly api: Api,
    private readonly propagator: W3CTraceContextPropagator,
    private readonly tracer: OtelTracer,
    private readonly rootRatio: number | null,
    private readonly stop: () => Promise<void>,
  ) {
    const k = api.SpanKind;
    this.kinds = { producer: k.PRODUCER, consumer: k.CONSUMER, client: k.CLIENT, internal: k.INTERNAL };
  }

  sample(): boolean {
    const r = this.rootRatio;
    return r === null || r >= 1 || (r > 0 && Math.random() < r);
  }

  root(name: string, opts: SpanOptions): TraceSpan | null {
    return this.start(name, opts, this.api.ROOT_CONTEXT);
  }

  child(name: string, parent: TraceParent, opts: SpanOptions): TraceSpan | null {
    const ctx = this.propagator.extract(this.api.ROOT_CONTEXT, parent, getter);
    if (this.api.trace.getSpanContext(ctx) === undefined) return null;
    return this.start(name, opts, ctx);
  }

  shutdown(): Promise<void> {
    if (tracing.tracer === this) tracing.tracer = null;
    return this.stop();
  }

  private start(name: string, opts: SpanOptions, parent: Context): TraceSpan | null {
    const span = this.tracer.startSpan(
      name,
      { kind: this.kinds[opts.role], ...(opts.attributes ? { attributes: opts.attributes } : {}), ...(opts.startMs !== undefined ? { startTime: opts.startMs } : {}) },
      parent,
    );
    // Not sampled: nothing to carry or end.
    if (!span.isRecording()) return null;
    const carrier: Record<string, string> = {};
    this.propagator.inject(this.api.trace.setSpan(this.api.ROOT_CONTEXT, span), carrier, { set: (c, k, v) => void (c[k] = v) });
    return new RecordingSpan(this.api, span, carrier[TRACEPARENT_HEADER]!, carrier[TRACESTATE_HEADER]);
  }
}

class RecordingSpan implements TraceSpan {
  private ended = false;

  constructor(
    private readonly api: Api,
    private readonly span: Span,
    readonly traceparent: string,
    readonly tracestate: string | undefined,
  ) {}

  end(err?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    if (err !== undefined && err !== null) {
      this.span.recordException(err instanceof Error ? err : String(err));
      this.span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    }
    this.span.end();
  }
}

/** W3C headers of a span or carried context, as plain name/value pairs (for NATS message headers). */
export function traceHeaders(t: TraceParent): Record<string, string> {
  return t.tracestate ? { [TRACEPARENT_HEADER]: t.traceparent, [TRACESTATE_HEADER]: t.tracestate } : { [TRACEPARENT_HEADER]: t.traceparent };
}

/** The carried context of a message's headers, if it has one. */
export function traceParentOf(headers: { get(k: string): string } | undefined): TraceParent | null {
  const traceparent = headers?.get(TRACEPARENT_HEADER);
  if (!traceparent) return null;
  const tracestate = headers!.get(TRACESTATE_HEADER);
  return tracestate ? { traceparent, tracestate } : { traceparent };
}
