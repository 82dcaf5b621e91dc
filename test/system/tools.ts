import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * The system tests drive programs nobody here wrote: Debian's Chromium, kubectl and Python client.
 * Each is found the same way by the preflight and by the tests: the program an environment variable
 * names (and only it, when set), else where Debian installs it.
 */

export interface Tool {
  /** What the tests need, in words. */
  readonly name: string;
  /** The Debian bookworm package that provides it. */
  readonly debianPackage: string;
  /** find returns the program to run, or undefined when it is missing. */
  find(): string | undefined;
}

function onPath(program: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function runs(program: string, args: string[]): boolean {
  try {
    execFileSync(program, args, { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/** installed: the program the environment variable names, else `fallback` (where Debian installs it), if that file exists. */
function installed(variable: string, fallback: string): string | undefined {
  const candidate = process.env[variable] || fallback;
  return existsSync(candidate) ? candidate : undefined;
}

/** CHROMIUM: the CHROMIUM variable, else Debian's /usr/bin/chromium. */
export const CHROMIUM: Tool = {
  name: 'Chromium (headless browser for the dashboard test)',
  debianPackage: 'chromium',
  find: () => installed('CHROMIUM', '/usr/bin/chromium'),
};

/** KUBECTL: the KUBECTL variable, else the kubectl on PATH (Debian's kubernetes-client installs /usr/bin/kubectl). */
export const KUBECTL: Tool = {
  name: 'kubectl',
  debianPackage: 'kubernetes-client',
  find: () => {
    const candidate = process.env['KUBECTL'] || onPath('kubectl');
    return candidate !== undefined && runs(candidate, ['version', '--client']) ? candidate : undefined;
  },
};

/** PYTHON_KUBERNETES: a python3 that can import the kubernetes client: PYTHON, else Debian's /usr/bin/python3, else python3 on PATH. */
export const PYTHON_KUBERNETES: Tool = {
  name: 'the Python Kubernetes client',
  debianPackage: 'python3-kubernetes',
  find: () => {
    const named = process.env['PYTHON'];
    const candidates = named ? [named] : ['/usr/bin/python3', onPath('python3')].filter((p): p is string => p !== undefined);
    return candidates.find((p) => runs(p, ['-c', 'import kubernetes.client, kubernetes.watch']));
  },
};

/** JUPYTERHUB: the JUPYTERHUB variable, else Debian's /usr/bin/jupyterhub (3.0, with its configurable-http-proxy). */
export const JUPYTERHUB: Tool = {
  name: 'JupyterHub and its proxy (the end-to-end tests with SpawnkeeperSpawner)',
  debianPackage: 'jupyterhub',
  find: () => {
    const candidate = installed('JUPYTERHUB', '/usr/bin/jupyterhub');
    return candidate !== undefined && onPath('configurable-http-proxy') !== undefined && runs(candidate, ['--version'])
      ? candidate
      : undefined;
  },
};

/** SINGLEUSER: jupyterhub-singleuser (Debian's jupyterhub package brings it with python3-notebook). */
export const SINGLEUSER: Tool = {
  name: 'jupyterhub-singleuser (the real single-user server)',
  debianPackage: 'jupyterhub',
  find: () => installed('JUPYTERHUB_SINGLEUSER', '/usr/bin/jupyterhub-singleuser'),
};

export const SYSTEM_TOOLS: readonly Tool[] = [CHROMIUM, KUBECTL, PYTHON_KUBERNETES, JUPYTERHUB, SINGLEUSER];

/** installLine is the one command that installs the missing tools' Debian packages. */
export function installLine(missing: readonly Tool[]): string {
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  return `${sudo}apt-get install -y ${[...new Set(missing.map((t) => t.debianPackage))].join(' ')}`;
}

/** need returns the tool's program, or throws with the install line (for a test run without the preflight). */
export function need(tool: Tool): string {
  const found = tool.find();
  if (found === undefined) throw new Error(`${tool.name} is missing; install it with: ${installLine([tool])}`);
  return found;
}
