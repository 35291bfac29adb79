import { describeRestHistory } from '../kit/history-rig.js';

describeRestHistory('coinbase', 'BTC-USD', '');
