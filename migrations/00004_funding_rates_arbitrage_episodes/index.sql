-- Settled perpetual funding rates (store/funding.ts): one row per venue, symbol and settlement
-- time, written once (insert … on conflict do nothing), so a restarted writer or a second feed
-- replica reporting the same settlement changes nothing.
create table funding_rates (
  venue         text        not null,
  symbol        text        not null,
  funding_time  timestamptz not null,
  funding_rate  numeric     not null,
  -- the funding interval the rate applies to, where the venue states it or it was observed
  interval_ms   bigint,
  created_at    timestamptz not null default now(),
  primary key (venue, symbol, funding_time)
);
create index funding_rates_symbol_time on funding_rates (symbol, funding_time);

-- Arbitrage episodes (store/arbitrage.ts): one row per persisting opportunity of a symbol and a
-- (buy venue, sell venue) pair, opened after it held above the threshold for K ms and closed when
-- it fell below the threshold minus the hysteresis. The row is updated in place while the episode
-- is open (ended_at null). `kind`: 'book' (book walk net of fees) or 'funding' (funding spread).
-- The figures at the peak (size, net, prices) describe the best moment of the episode.
create table arbitrage_episodes (
  id          text        primary key,
  kind        text        not null,
  symbol      text        not null,
  buy_venue   text        not null,
  sell_venue  text        not null,
  started_at  timestamptz not null,
  ended_at    timestamptz,
  -- time of the last event written (open, update or close)
  ts          timestamptz not null,
  peak_bps    numeric     not null,
  avg_bps     numeric     not null,
  net_bps     numeric     not null,
  spread_bps  numeric     not null,
  ask         numeric     not null,
  bid         numeric     not null,
  size        numeric,
  net_quote   numeric,
  quote       text,
  detail      jsonb       not null default '{}'::jsonb,
  created_at  timestamptz not null default now()
);
create index arbitrage_episodes_symbol_started on arbitrage_episodes (symbol, started_at);
create index arbitrage_episodes_started on arbitrage_episodes (started_at);
create index arbitrage_episodes_open on arbitrage_episodes (ended_at) where ended_at is null;
