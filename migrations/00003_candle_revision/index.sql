-- The revision of the candle version a row holds (the Tickwork-Revision header: the MD_TRADES
-- sequence at which the symbol actor emitted it). The upsert keeps the highest revision, so an
-- older re-delivery or a forged candle claiming more trades cannot replace a newer version.
-- 0: written before revisions existed, or by a worker that sends none.
alter table candles add column revision bigint not null default 0;
