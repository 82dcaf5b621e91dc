import { badRequest } from './status.js';
import type { Collection } from '../cluster/kinds.js';
import type { KubeObject } from '../cluster/types.js';

/**
 * Selector is a parsed label or field selector; parsing once per request keeps matching cheap for
 * watches that test every change against it.
 */
export type Selector = (object: KubeObject) => boolean;

type Requirement =
  | { op: 'exists' | 'notexists'; key: string }
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] };

const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** splitTerms splits on commas outside parentheses, so `in (a,b)` stays one term. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms.map((t) => t.trim());
}

function checkKey(key: string, term: string): string {
  if (key.length > 317 || !KEY.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}" in "${term}"`);
  return key;
}

function checkValue(value: string, term: string): string {
  if (value.length > 63 || !VALUE.test(value)) throw badRequest(`unable to parse requirement: invalid label value "${value}" in "${term}"`);
  return value;
}

function parseTerm(term: string): Requirement {
  let m = /^(!?)\s*([^\s=!(),]+)$/.exec(term);
  if (m) return { op: m[1] === '!' ? 'notexists' : 'exists', key: checkKey(m[2] ?? '', term) };
  m = /^([^\s=!(),]+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(term);
  if (m) {
    const values = (m[3] ?? '').split(',').map((v) => checkValue(v.trim(), term));
    return { op: m[2] === 'in' ? 'in' : 'notin', key: checkKey(m[1] ?? '', term), values };
  }
  m = /^([^\s=!(),]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/.exec(term);
  if (m) return { op: m[2] === '!=' ? 'neq' : 'eq', key: checkKey(m[1] ?? '', term), value: checkValue(m[3] ?? '', term) };
  throw badRequest(`unable to parse requirement: unable to parse label selector "${term}"`);
}

function matches(req: Requirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  const value = labels[req.key];
  switch (req.op) {
    case 'exists':
      return has;
    case 'notexists':
      return !has;
    case 'eq':
      return has && value === req.value;
    case 'neq':
      return !has || value !== req.value;
    case 'in':
      return has && value !== undefined && req.values.includes(value);
    case 'notin':
      return !has || value === undefined || !req.values.includes(value);
  }
}

/** parseLabelSelector accepts equality (`=`, `==`, `!=`), set (`in`, `notin`) and existence (`k`, `!k`) terms. */
export function parseLabelSelector(text: string | null | undefined): Selector {
  if (text === null || text === undefined || text.trim() === '') return () => true;
  const reqs = splitTerms(text).map(parseTerm);
  return (object) => {
    const labels = object.metadata.labels ?? {};
    return reqs.every((r) => matches(r, labels));
  };
}

function fieldValue(object: KubeObject, path: string): string {
  let node: unknown = object;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return '';
    node = (node as Record<string, unknown>)[part];
  }
  if (path === 'source' && node !== null && typeof node === 'object') node = (node as Record<string, unknown>)['component'];
  if (node === undefined || node === null) return '';
  return typeof node === 'string' ? node : JSON.stringify(node);
}

/** parseFieldSelector accepts `path=value`, `path==value` and `path!=value` terms on supported fields. */
export function parseFieldSelector(collection: Collection, text: string | null | undefined): Selector {
  if (text === null || text === undefined || text.trim() === '') return () => true;
  const terms = text.split(',').map((term) => {
    const m = /^\s*([A-Za-z.]+)\s*(==|=|!=)\s*([^,]*?)\s*$/.exec(term);
    if (!m) throw badRequest(`invalid field selector: "${term}"`);
    const path = m[1] ?? '';
    if (path !== 'metadata.name' && path !== 'metadata.namespace' && !collection.fieldLabels.includes(path))
      throw badRequest(`field label not supported: ${path}`);
    return { path, negate: m[2] === '!=', value: m[3] ?? '' };
  });
  return (object) => terms.every((t) => (fieldValue(object, t.path) === t.value) !== t.negate);
}

/** both combines a label and a field selector, as a request's query may carry both. */
export function both(a: Selector, b: Selector): Selector {
  return (object) => a(object) && b(object);
}
