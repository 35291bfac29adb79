import { writeFileSync } from 'node:fs';
import baseSetup from '../global-setup.js';
import { formatTable, readRows } from './table.js';

/** The normal suite's global setup (build, services), then an empty table; the teardown prints it. */
export default async function setup(): Promise<() => Promise<void>> {
  const teardown = await baseSetup();
  const file = process.env.TICKWORK_CHAOS_TABLE;
  if (file) writeFileSync(file, '');
  return async () => {
    if (file) {
      const rows = readRows(file);
      console.log(`\nchaos suite: ${rows.length} fault rows (table also in ${file})\n${formatTable(rows)}\n`);
    }
    await teardown?.();
  };
}
