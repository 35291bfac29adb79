/**
 * NATS and JetStream for every tickwork process: connecting, declaring streams, publishing with
 * confirmed PubAcks (dead letters with their reason headers), and consuming in checked batches.
 * No market knowledge.
 */
export { connectNats, natsReady, type NatsHandles, type NatsConnection, type JetStreamClient, type JetStreamManager, type StreamConfig } from './connection.js';
export { ensureDurableConsumer, ensureStream, lastMessageJson, type DurableSpec, type EnsureStreamOptions, type EnsureStreamResult, type StreamSpec } from './streams.js';
export {
  PipelinedPublisher,
  DLQ_HEADERS,
  PubAckError,
  messageHeaders,
  deadLetterHeaders,
  loadPublishConfig,
  PublishEnv,
  type DeadLetterInfo,
  type PipelinedPublisherOptions,
  type PublishCallback,
  type PublishConfig,
  type PublishResult,
} from './publisher.js';
export { StreamSource, type Batch, type Checker, type DeadLetterPolicy, type Delivered, type SourceStart, type StreamSourceOptions } from './stream-source.js';
