import { existsSync } from 'node:fs';
import { helpText } from '../../core/cli.js';
import type { HubCommandSpec } from '../config.js';
import { ConfigError, commandSpec } from '../config.js';
import type { CliIo } from './io.js';
import { configFrom, withDatabase } from './db.js';

const VACUUM: HubCommandSpec = {
  usage: 'spawnkeeper vacuum [options]',
  summary: `Gives the pages retention freed back to the file system. Without --into it rewrites the database
in place with auto_vacuum=INCREMENTAL, so from then on retention hands pages back by itself (files
created by this version already are); it takes the database's lock: stop the hub first.`,
  options: {
    into: { type: 'string', value: 'FILE', doc: 'write a compacted copy to FILE (which must not exist) instead; works while a hub runs' },
  },
  settings: 'db',
};
/** VACUUM_USAGE explains how an operator gives freed pages back, once or for good. */
export const VACUUM_USAGE = helpText(commandSpec(VACUUM));

/** vacuumCommand compacts the database in place (hub stopped) or into a new file (hub running or not). */
export function vacuumCommand(argv: readonly string[], io: CliIo): number {
  const parsed = configFrom(argv, io, VACUUM);
  if (parsed === undefined) return 0;
  const { args, config } = parsed;
  const into = args.options.get('--into');
  if (into !== undefined && existsSync(into)) throw new ConfigError(`${into} exists: vacuum --into writes a new file`);
  return withDatabase(config, into === undefined ? 'write' : 'read', (db) => {
    const size = () => (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
    const before = size();
    db.pragma('auto_vacuum = INCREMENTAL');
    if (into !== undefined) {
      db.prepare('VACUUM INTO ?').run(into);
      io.out(`wrote a compacted copy of ${config.db} (${before} bytes in pages) to ${into}`);
    } else {
      db.exec('VACUUM');
      io.out(`vacuumed ${config.db}: ${before} → ${size()} bytes in pages; freed pages now go back as retention frees them`);
    }
    return 0;
  });
}
