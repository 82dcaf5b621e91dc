#!/usr/bin/env node
// The `spawnkeeper` command: the compiled hub CLI in dist/ (`npm install` builds it in a clone; a
// package from the registry ships it). Plain JavaScript: no TypeScript loader at run time.
/* global process, URL */
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/hub/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('spawnkeeper: dist/ is not built; run `npm run build` (or `npm install`) in the checkout first\n');
  process.exit(1);
}
await import(main.href);
