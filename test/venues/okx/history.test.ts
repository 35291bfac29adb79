import { describeRestHistory } from '../kit/history-rig.js';

describeRestHistory('okx', 'BTC-USDT', '');
