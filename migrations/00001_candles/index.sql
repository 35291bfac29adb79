-- Candles, symbols. Applied by store/migrate.ts with search_path set to the target schema only,
-- so every name below lands in that schema (public, or tw_<namespace> for isolated runs).

-- Two levels of partitioning (see migrations/README.md): LIST by timeframe, so each timeframe
-- has its own retention and granularity, then RANGE by open_time inside each timeframe.
create table candles (
  venue          text        not null,
  symbol         text        not null,
  tf             text        not null,
  open_time      timestamptz not null,
  close_time     timestamptz not null,
  open           numeric     not null,
  high           numeric     not null,
  low            numeric     not null,
  close          numeric     not null,
  volume         numeric     not null,
  quote_volume   numeric     not null,
  vwap           numeric     not null,
  buy_volume     numeric     not null,
  trades         bigint      not null,
  first_trade_id text,
  last_trade_id  text,
  closed         boolean     not null,
  updated_at     timestamptz not null default now(),
  primary key (venue, symbol, tf, open_time)
) partition by list (tf);

-- Time partitions (candles_<tf>_<yyyymmdd|yyyymm>) are created ahead by ensurePartitions();
-- each DEFAULT partition catches whatever falls outside them, so no insert ever fails.
create table candles_1s  partition of candles for values in ('1s')  partition by range (open_time);
create table candles_1m  partition of candles for values in ('1m')  partition by range (open_time);
create table candles_5m  partition of candles for values in ('5m')  partition by range (open_time);
create table candles_15m partition of candles for values in ('15m') partition by range (open_time);
create table candles_1h  partition of candles for values in ('1h')  partition by range (open_time);
create table candles_4h  partition of candles for values in ('4h')  partition by range (open_time);
create table candles_1d  partition of candles for values in ('1d')  partition by range (open_time);
create table candles_1s_default  partition of candles_1s  default;
create table candles_1m_default  partition of candles_1m  default;
create table candles_5m_default  partition of candles_5m  default;
create table candles_15m_default partition of candles_15m default;
create table candles_1h_default  partition of candles_1h  default;
create table candles_4h_default  partition of candles_4h  default;
create table candles_1d_default  partition of candles_1d  default;
-- A timeframe added to the contract later still has a home until a migration gives it its own.
create table candles_other partition of candles default;

-- Venue/symbol pairs that ever produced a candle, maintained by the candle upsert itself
-- (cheaper than `select distinct` over the partitions).
create table symbols (
  venue      text        not null,
  symbol     text        not null,
  first_seen timestamptz not null default now(),
  last_seen  timestamptz not null default now(),
  primary key (venue, symbol)
);
