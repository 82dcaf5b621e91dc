import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * runChild runs a bench script in its own node process and resolves
 * with the JSON object it prints on its last stdout line; a fresh process keeps a measurement free
 * of the heap, JIT state and open files of the scenarios before it.
 */
export function runChild<T>(script: string, args: readonly string[], nodeFlags: readonly string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    const path = new URL(script, import.meta.url).pathname;
    // A .ts script runs through tsx, as `npm start` does; an .mjs (a compiled bundle) with plain node.
    const loader = path.endsWith('.ts') ? ['--import', 'tsx'] : [];
    const child = spawn(process.execPath, [...nodeFlags, ...loader, path, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let last = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.trim() !== '') last = line;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${script} exited ${String(code)}: ${stderr.slice(-2000)}`));
      else {
        try {
          resolve(JSON.parse(last) as T);
        } catch {
          reject(new Error(`${script} printed no result: ${last.slice(0, 200)} ${stderr.slice(-500)}`));
        }
      }
    });
  });
}
