import { parseTimerId } from '../../../machines/timer-id.js';
import type { AnyStateMachine, AnyStateNode } from 'xstate';

/**
 * The machines, exported for people and tools: `stately` is `createMachine({...})` code the Stately
 * editor imports, `json` the normalised definition, `mermaid` a state diagram for docs. Inline
 * implementations (assign, params functions) become named placeholders, so the code evaluates.
 */

export type ExportFormat = 'stately' | 'json' | 'mermaid';

/** plain turns a machine config into JSON-safe data: functions become `{ type }` placeholders. */
function plain(value: unknown): unknown {
  if (typeof value === 'function') {
    const fn = value as { type?: unknown; assignment?: unknown };
    if (fn.type === 'xstate.assign') {
      const assignment = fn.assignment;
      const fields = typeof assignment === 'object' && assignment !== null ? Object.keys(assignment).join(', ') : 'context';
      return { type: 'assign', params: { fields } };
    }
    return undefined; // a params function: the action keeps its name, the editor needs no code
  }
  if (Array.isArray(value)) return value.map(plain).filter((v) => v !== undefined);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const p = plain(v);
      if (p !== undefined) out[k] = p;
    }
    return out;
  }
  return value;
}

/** machineConfig is a machine's definition as plain JSON data, every state, event and guard by name. */
export function machineConfig(machine: AnyStateMachine): Record<string, unknown> {
  return plain(machine.config) as Record<string, unknown>;
}

/** statelyCode is code the Stately editor imports: `createMachine({...})` with every state, event and guard by name. */
export function statelyCode(machine: AnyStateMachine): string {
  return `createMachine(${JSON.stringify(machineConfig(machine), null, 2)})\n`;
}

/** machineJson is the normalised definition (delays folded into `xstate.after.*` events). */
export function machineJson(machine: AnyStateMachine): string {
  return `${JSON.stringify(machine.toJSON(), null, 2)}\n`;
}

export interface Edge {
  readonly source: string;
  readonly event: string;
  readonly guard: string | undefined;
  readonly targets: readonly string[];
}

function guardName(guard: unknown): string | undefined {
  if (guard === undefined) return undefined;
  if (typeof guard === 'string') return guard;
  const g = guard as { type?: unknown; guards?: unknown[] };
  if (Array.isArray(g.guards)) return `${String(g.type)}(${g.guards.map(guardName).join(', ')})`;
  return typeof g.type === 'string' ? g.type : 'inline';
}

function nodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap(nodes)];
}

/** edges lists every transition of a machine: source, event (delays by name), guard and targets. */
export function edges(machine: AnyStateMachine): Edge[] {
  const out: Edge[] = [];
  for (const node of nodes(machine.root)) {
    for (const [event, transitions] of node.transitions) {
      for (const t of transitions) {
        out.push({ source: node.id, event, guard: guardName(t.guard), targets: (t.target ?? []).map((s: AnyStateNode) => s.id) });
      }
    }
    for (const t of node.always ?? []) {
      out.push({ source: node.id, event: '(always)', guard: guardName(t.guard), targets: (t.target ?? []).map((s: AnyStateNode) => s.id) });
    }
  }
  return out;
}

/** structure is a machine's shape as sorted lines, for comparing two machines. */
export function structure(machine: AnyStateMachine): string[] {
  const states = nodes(machine.root).map((n) => `state ${n.id}${n.tags.length ? ` [${[...n.tags].join(',')}]` : ''}`);
  const transitions = edges(machine).map(
    (e) => `${e.source} --${e.event}${e.guard ? ` [${e.guard}]` : ''}--> ${e.targets.join(',') || '(self)'}`,
  );
  return [...states, ...transitions].sort();
}

const mermaidId = (id: string) => id.replace(/[^A-Za-z0-9_]/g, '_');

/** mermaid draws the machine as a Mermaid stateDiagram-v2, compound states nested, delays named. */
export function mermaid(machine: AnyStateMachine): string {
  const lines = ['stateDiagram-v2'];
  const draw = (node: AnyStateNode, indent: string): void => {
    for (const child of Object.values(node.states)) {
      const id = mermaidId(child.id);
      const label = child.key + (child.tags.includes('stable') ? ' (stable)' : '');
      if (Object.keys(child.states).length > 0) {
        lines.push(`${indent}state "${label}" as ${id} {`);
        draw(child, `${indent}  `);
        lines.push(`${indent}}`);
      } else {
        lines.push(`${indent}state "${label}" as ${id}`);
      }
    }
    const initial = node.initial?.target?.[0];
    if (initial !== undefined) lines.push(`${indent}[*] --> ${mermaidId(initial.id)}`);
  };
  draw(machine.root, '  ');
  const arrows = new Set<string>();
  for (const e of edges(machine)) {
    const timer = parseTimerId(e.event);
    const event = timer === undefined ? e.event : `after ${timer.delay}`;
    for (const target of e.targets) {
      if (target === e.source) continue;
      arrows.add(`  ${mermaidId(e.source)} --> ${mermaidId(target)}: ${event}${e.guard ? ` [${e.guard}]` : ''}`);
    }
  }
  return `${[...lines, ...arrows].join('\n')}\n`;
}

/** exportMachine renders a machine in one of the formats. */
export function exportMachine(machine: AnyStateMachine, format: ExportFormat): string {
  if (format === 'stately') return statelyCode(machine);
  if (format === 'json') return machineJson(machine);
  return mermaid(machine);
}
