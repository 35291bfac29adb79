-- Cross-venue opportunities from the spread actor (md.arb.<SYMBOL>). `id` is the message id,
-- so a redelivered signal is stored once.
create table arbitrage (
  id         text        primary key,
  symbol     text        not null,
  ts         timestamptz not null,
  buy_venue  text        not null,
  sell_venue text        not null,
  ask        numeric     not null,
  bid        numeric     not null,
  spread_bps numeric     not null,
  created_at timestamptz not null default now()
);
create index arbitrage_symbol_ts on arbitrage (symbol, ts);
create index arbitrage_ts on arbitrage (ts);
