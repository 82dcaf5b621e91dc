// vitest's global setup: compiles dist/ when a source is newer than the last build, so the tests
// that run `bin/spawnkeeper.mjs`, the examples and the package test run the compiled code users run.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const build = fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url));
  execFileSync(process.execPath, [build, '--if-stale'], { stdio: 'inherit' });
}
