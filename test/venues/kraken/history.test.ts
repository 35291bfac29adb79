import { describeRestHistory } from '../kit/history-rig.js';

describeRestHistory('kraken', 'BTC-USD', '');
