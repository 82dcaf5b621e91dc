#!/usr/bin/env node
// The `spawnkeeper` command: registers tsx's ESM loader so the TypeScript sources run as they are.
/* global process */
import { register } from 'tsx/esm/api';

register();
const { run } = await import('../src/hub/cli/cli.ts');
await run(process.argv.slice(2));
