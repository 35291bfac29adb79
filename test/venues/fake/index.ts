import { defineVenue } from '../../../venues/kit/venue.js';
import { FakeAdapter, LIMITS } from './adapter.js';
import { simulator } from './simulator.js';

/**
 * A venue that exists only in a test (test/venues/fake-venue.test.ts copies this folder to
 * venues/fake/ of a copy of the tree and adds its line to the registry, nothing else).
 */
export const fake = defineVenue({
  id: 'fake',
  wsUrl: 'wss://ws.fake.example/fake',
  limits: LIMITS,
  createAdapter: () => new FakeAdapter(),
  simulator,
  demo: { symbols: ['BTC-USD', 'ETH-USD'], upDemo: false },
});
