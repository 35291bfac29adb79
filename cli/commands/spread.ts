import type { Command } from 'commander';

/** Extension of the DESIGN.md CLI: the spread actors alone, for deployments that run them separately. */
export function register(program: Command): void {
  program
    .command('spread')
    .description('detect cross-venue spreads from MD_QUOTES: publish md.arb.<SYMBOL> and store them in PostgreSQL')
    .action(async () => (await import('../../app/spread.js')).runSpread());
}
