import { describeRestHistory } from '../kit/history-rig.js';

describeRestHistory('binance', 'BTC-USDT', ' (aggTrades: aggregate ids)', 'firstAggId');
