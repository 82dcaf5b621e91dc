import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const LOG = new URL('../../src/hub/log.ts', import.meta.url).href;

describe('log format', () => {
  it('writes pretty, redacted lines when asked for the pretty format (pino-pretty is loaded only then)', () => {
    const script = `const { createLogger } = await import(${JSON.stringify(LOG)}); createLogger({ format: 'pretty' }).info({ token: 'hunter2' }, 'hello pretty');`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('hello pretty');
    expect(run.stdout).toContain('[redacted]');
    expect(run.stdout).not.toContain('hunter2');
    expect(run.stdout.trimStart().startsWith('{')).toBe(false); // not a JSON line
  });
});
