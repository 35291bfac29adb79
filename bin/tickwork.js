#!/usr/bin/env node
// Runs the TypeScript sources through tsx's loader: one code path for dev, tests, CI and containers.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
