import type { FailureMode } from './failure-modes.js';
import type { Verb } from './faults.js';
import { API_VERBS } from './faults.js';

/** ParamError is a control call with a missing or ill-typed argument; the control API answers it with 400. */
export class ParamError extends Error {}

/** MODE_FIELDS lists each failure mode's optional fields and their types, so a mode from JSON can be checked. */
const MODE_FIELDS: Record<FailureMode['kind'], Record<string, 'integer' | 'string'>> = {
  imagePull: { message: 'string' },
  crashLoop: { exitCode: 'integer', runMs: 'integer' },
  neverReady: { message: 'string' },
  unschedulable: { message: 'string' },
  evicted: { afterMs: 'integer', message: 'string' },
  exit: { afterMs: 'integer', exitCode: 'integer', reason: 'string' },
  oomKilled: { afterMs: 'integer' },
  stuckTerminating: { forMs: 'integer' },
  nodeLost: { afterMs: 'integer', evictAfterMs: 'integer' },
  ignoreSigterm: {},
  slow: { scheduleMs: 'integer', createMs: 'integer', readyMs: 'integer' },
};

export const FAILURE_MODE_KINDS = Object.keys(MODE_FIELDS) as FailureMode['kind'][];

const isInteger = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Params reads the JSON body of a control call: each reader names the argument in its error, and
 * `done` refuses arguments nobody read, so a misspelt one is an error rather than ignored.
 */
export class Params {
  private readonly read = new Set<string>();

  constructor(private readonly body: Record<string, unknown>) {}

  private take(name: string): unknown {
    this.read.add(name);
    return this.body[name];
  }

  integer(name: string, options: { min?: number; max?: number } = {}): number | undefined {
    const v = this.take(name);
    if (v === undefined) return undefined;
    const { min = 0, max = Number.MAX_SAFE_INTEGER } = options;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
      throw new ParamError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    return v;
  }

  requiredInteger(name: string, options: { min?: number; max?: number } = {}): number {
    const v = this.integer(name, options);
    if (v === undefined) throw new ParamError(`${name} is required`);
    return v;
  }

  fraction(name: string): number {
    const v = this.take(name);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1)
      throw new ParamError(`${name} must be a number from 0 to 1, got ${JSON.stringify(v)}`);
    return v;
  }

  optionalFraction(name: string): number | undefined {
    return this.body[name] === undefined ? (this.take(name) as undefined) : this.fraction(name);
  }

  boolean(name: string): boolean | undefined {
    const v = this.take(name);
    if (v !== undefined && typeof v !== 'boolean') throw new ParamError(`${name} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  string(name: string): string | undefined {
    const v = this.take(name);
    if (v !== undefined && (typeof v !== 'string' || v === ''))
      throw new ParamError(`${name} must be a non-empty string, got ${JSON.stringify(v)}`);
    return v;
  }

  requiredString(name: string): string {
    const v = this.string(name);
    if (v === undefined) throw new ParamError(`${name} is required`);
    return v;
  }

  /** status reads an HTTP error status to inject (400 to 599). */
  status(name = 'status'): number | undefined {
    return this.integer(name, { min: 400, max: 599 });
  }

  verbs(name = 'verbs'): Verb[] | undefined {
    const v = this.take(name);
    if (v === undefined) return undefined;
    const known: readonly string[] = [...API_VERBS, 'discovery'];
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string' || !known.includes(x))) {
      throw new ParamError(`${name} must be a non-empty list of ${known.join(', ')}, got ${JSON.stringify(v)}`);
    }
    return v as Verb[];
  }

  optionalStrings(name: string): string[] | undefined {
    return this.body[name] === undefined ? (this.take(name) as undefined) : this.strings(name);
  }

  strings(name: string): string[] {
    const v = this.take(name);
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
      throw new ParamError(`${name} must be a list of strings, got ${JSON.stringify(v)}`);
    return v as string[];
  }

  /** mode reads a kubelet failure mode: `{ "kind": "imagePull" }`, `{ "kind": "crashLoop", "exitCode": 2 }` … */
  mode(name = 'mode'): FailureMode {
    const v = this.take(name);
    const kinds = FAILURE_MODE_KINDS.join(', ');
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ParamError(`${name} must be an object with a kind (${kinds})`);
    const { kind, ...rest } = v as Record<string, unknown>;
    const fields = typeof kind === 'string' && Object.hasOwn(MODE_FIELDS, kind) ? MODE_FIELDS[kind as FailureMode['kind']] : undefined;
    if (fields === undefined) throw new ParamError(`${name}.kind must be one of ${kinds}, got ${JSON.stringify(kind)}`);
    for (const [field, value] of Object.entries(rest)) {
      const type = fields[field];
      if (type === undefined)
        throw new ParamError(
          `${name}.${field} is not a field of ${String(kind)} (it has: ${Object.keys(fields).join(', ') || 'no fields'})`,
        );
      if (type === 'integer' ? !isInteger(value) : typeof value !== 'string')
        throw new ParamError(`${name}.${field} must be ${type === 'integer' ? 'a non-negative integer' : 'a string'}`);
    }
    return v as FailureMode;
  }

  /** done throws if the body holds an argument no reader asked for. */
  done(): void {
    const unknown = Object.keys(this.body).filter((k) => !this.read.has(k));
    if (unknown.length > 0) throw new ParamError(`unknown argument${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`);
  }
}
