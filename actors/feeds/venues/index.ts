export type {
  AppPing,
  ControlKind,
  FeedChannel,
  FrameClass,
  FrameReject,
  ParseOutput,
  RateLimit,
  RejectReason,
  TradeBackfill,
  TradeSeq,
  VenueAdapter,
  VenueAdapterFactory,
  VenueLimits,
} from './types.js';
export { clearParseOutput, newParseOutput } from './types.js';
export { ADAPTER_VENUES, createAdapter, hasAdapter } from './registry.js';
