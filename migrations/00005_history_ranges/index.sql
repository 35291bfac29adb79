-- Candle ranges written by the batch path (tickwork backfill and rebuild): one row per venue,
-- symbol, timeframe and range. Retention (store/partitions.ts applyRetention) never deletes a
-- candle inside one of these ranges, nor drops a partition that holds one: history a user asked
-- for survives the next start-up whatever TICKWORK_RETENTION_<TF> says. Delete a row to let
-- retention apply to that range again.
create table candle_history_ranges (
  venue      text        not null,
  symbol     text        not null,
  tf         text        not null,
  from_time  timestamptz not null,
  to_time    timestamptz not null,
  -- what wrote it: venue | file | archive | rebuild
  source     text        not null,
  written_at timestamptz not null default now(),
  primary key (venue, symbol, tf, from_time, to_time),
  check (from_time < to_time)
);
