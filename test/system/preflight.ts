import { installLine, SYSTEM_TOOLS } from './tools.js';

/**
 * The preflight of `npm run test:system`: it finds every program the system tests drive before any
 * test runs, and when one is missing it fails at once with the one apt-get line that installs it.
 */
const found = SYSTEM_TOOLS.map((tool) => ({ tool, path: tool.find() }));
for (const { tool, path } of found) process.stdout.write(`test:system: ${tool.name}: ${path ?? 'MISSING'}\n`);
const missing = found.filter((f) => f.path === undefined).map((f) => f.tool);
if (missing.length > 0) {
  process.stderr.write(`test:system: missing ${missing.map((t) => t.debianPackage).join(', ')}; install with:\n${installLine(missing)}\n`);
  process.exit(1);
}
