import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PREFLIGHT = fileURLToPath(new URL('../system/preflight.ts', import.meta.url));

// npm run test:system must fail before any test when a program is missing, with one line to fix it.
describe('the preflight of npm run test:system', () => {
  it('fails at once with the one apt-get line that installs every missing package', async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const env = {
        ...process.env,
        CHROMIUM: '/nonexistent/chromium',
        KUBECTL: '/nonexistent/kubectl',
        PYTHON: '/nonexistent/python3',
        JUPYTERHUB: '/nonexistent/jupyterhub',
        JUPYTERHUB_SINGLEUSER: '/nonexistent/jupyterhub-singleuser',
      };
      execFile(process.execPath, ['--import', 'tsx', PREFLIGHT], { env }, (err, _stdout, stderr) =>
        resolve({ code: err === null ? 0 : (err.code as number), stderr }),
      );
    });
    expect(result.code).toBe(1);
    const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
    expect(result.stderr.trim().split('\n').at(-1)).toBe(
      `${sudo}apt-get install -y chromium kubernetes-client python3-kubernetes jupyterhub`,
    );
  });
});
