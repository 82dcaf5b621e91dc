// Summarises a `node --cpu-prof` profile: `npx tsx bench/profile.ts FILE.cpuprofile [--top n] [--exclude fn,fn] [--focus fn] [--by-area]`.
import { readFileSync } from 'node:fs';
import type { CommandSpec } from '../src/core/cli.js';
import { UsageError, helpText, integerOption, parseCommand, stringOption } from '../src/core/cli.js';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Share is one function's self and inclusive time as a share of the counted samples. */
export interface Share {
  readonly name: string;
  readonly selfMs: number;
  readonly selfShare: number;
  readonly totalShare: number;
}

/** area is the package or source folder a frame belongs to, for a summary by where time goes. */
function area(frame: CallFrame): string {
  if (frame.url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const nm = frame.url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = frame.url.slice(nm + 'node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') === true ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? '?');
  }
  if (frame.url.startsWith('node:')) return 'node internals';
  const src = /\/(src\/[a-z]+|bench|machines|test)\//.exec(frame.url);
  return src?.[1] ?? frame.url;
}

/** where names a frame by function and file (node_modules paths cut to the package), the way a person reads them. */
function where(frame: CallFrame): string {
  const fn = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return fn;
  const nm = frame.url.lastIndexOf('node_modules/');
  const file = nm >= 0 ? frame.url.slice(nm + 'node_modules/'.length) : frame.url.replace(/^.*\/(src|bench|machines)\//, '$1/');
  return `${fn} ${file}:${frame.lineNumber + 1}`;
}

/**
 * summarize attributes each sample's time to its leaf function (self) and, once per stack, to every
 * function on the stack (inclusive). Samples whose stack holds an excluded function are left out;
 * with `focus`, only samples under that function count.
 */
export function summarize(
  profile: CpuProfile,
  options: { exclude?: readonly string[]; focus?: string; byArea?: boolean } = {},
): { totalMs: number; shares: Share[] } {
  const name = options.byArea === true ? area : where;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let counted = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    const stack: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) stack.push(byId.get(at)?.callFrame.functionName ?? '');
    if (options.exclude?.some((fn) => stack.includes(fn))) return;
    if (options.focus !== undefined && !stack.includes(options.focus)) return;
    const leaf = byId.get(id);
    if (leaf === undefined || leaf.callFrame.functionName === '(idle)') return;
    counted += dt;
    self.set(name(leaf.callFrame), (self.get(name(leaf.callFrame)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (node === undefined) continue;
      const n = name(node.callFrame);
      if (seen.has(n)) continue;
      seen.add(n);
      total.set(n, (total.get(n) ?? 0) + dt);
    }
  });
  const shares = [...total.keys()].map((n) => ({
    name: n,
    selfMs: self.get(n) ?? 0,
    selfShare: (self.get(n) ?? 0) / counted,
    totalShare: (total.get(n) ?? 0) / counted,
  }));
  return { totalMs: counted, shares };
}

/** PROFILE is `npx tsx bench/profile.ts`: its flags and help. */
const PROFILE: CommandSpec = {
  usage: 'npx tsx bench/profile.ts FILE.cpuprofile [options]',
  summary: 'Summarizes a V8 CPU profile: the functions (or areas) with the most self and inclusive time.',
  options: {
    top: { type: 'string', value: 'N', doc: 'rows of each list (default 25)' },
    exclude: { type: 'string', value: 'FN,FN', doc: 'leave these functions out of the count' },
    focus: { type: 'string', value: 'FN', doc: 'count only samples under this function' },
    'by-area': { type: 'boolean', doc: 'group by area of the code instead of by function' },
  },
  positionals: true,
};

function main(argv: readonly string[]): void {
  const { values, positionals, help } = parseCommand(PROFILE, argv);
  if (help) {
    process.stdout.write(`${helpText(PROFILE)}\n`);
    return;
  }
  const [file, ...rest] = positionals;
  if (file === undefined || rest.length > 0) throw new UsageError('give one FILE.cpuprofile');
  const top = integerOption('top', values['top'], 1, 10_000) ?? 25;
  const options: { exclude?: string[]; focus?: string; byArea?: boolean } = {};
  const exclude = stringOption(values['exclude']);
  const focus = stringOption(values['focus']);
  if (exclude !== undefined) options.exclude = exclude.split(',');
  if (focus !== undefined) options.focus = focus;
  if (values['by-area'] === true) options.byArea = true;
  const { totalMs, shares } = summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, options);
  const pct = (x: number) => `${(100 * x).toFixed(1).padStart(5)} %`;
  process.stdout.write(`${totalMs.toFixed(0)} ms of samples counted\n\nself time\n`);
  for (const s of [...shares].sort((a, b) => b.selfShare - a.selfShare).slice(0, top))
    process.stdout.write(`${pct(s.selfShare)}  ${s.name}\n`);
  process.stdout.write('\ninclusive time\n');
  for (const s of [...shares].sort((a, b) => b.totalShare - a.totalShare).slice(0, top))
    process.stdout.write(`${pct(s.totalShare)}  ${s.name}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`profile: ${err.message} (see npx tsx bench/profile.ts --help)\n`);
    process.exitCode = 2;
  }
}
