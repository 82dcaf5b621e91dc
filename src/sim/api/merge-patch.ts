import { ApiError, statusObject } from './status.js';

/**
 * mergePatch applies an RFC 7386 JSON merge patch; the simulator applies strategic merge patches
 * the same way, which is exact for maps and replaces lists whole.
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return structuredClone(patch);
  const base: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete base[key];
    else base[key] = mergePatch(base[key], value);
  }
  return base;
}

/** JsonPatchError is a patch that cannot apply (bad pointer, failed test); the API server answers it with 422 or 400. */
export class JsonPatchError extends Error {}

function unescape(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

function tokens(pointer: unknown): string[] {
  if (typeof pointer !== 'string' || (pointer !== '' && !pointer.startsWith('/')))
    throw new JsonPatchError(`invalid JSON pointer: ${JSON.stringify(pointer)}`);
  return pointer === '' ? [] : pointer.slice(1).split('/').map(unescape);
}

/** parentOf walks to the container holding the pointer's last token. */
function parentOf(doc: unknown, path: string[]): { container: Record<string, unknown> | unknown[]; key: string } {
  let node = doc;
  for (const token of path.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(token)];
    else if (typeof node === 'object' && node !== null) node = (node as Record<string, unknown>)[token];
    else node = undefined;
    if (node === undefined) throw new JsonPatchError(`path not found: /${path.join('/')}`);
  }
  if (typeof node !== 'object' || node === null) throw new JsonPatchError(`path not found: /${path.join('/')}`);
  return { container: node as Record<string, unknown> | unknown[], key: path[path.length - 1] ?? '' };
}

function index(list: unknown[], key: string, adding: boolean): number {
  if (adding && key === '-') return list.length;
  if (!/^(0|[1-9][0-9]*)$/.test(key) || Number(key) > list.length - (adding ? 0 : 1))
    throw new JsonPatchError(`array index out of range: ${key}`);
  return Number(key);
}

function get(doc: unknown, path: string[]): unknown {
  if (path.length === 0) return doc;
  const { container, key } = parentOf(doc, path);
  const value = Array.isArray(container) ? container[index(container, key, false)] : container[key];
  if (value === undefined) throw new JsonPatchError(`path not found: /${path.join('/')}`);
  return value;
}

function remove(doc: unknown, path: string[]): unknown {
  const { container, key } = parentOf(doc, path);
  const value = get(doc, path);
  if (Array.isArray(container)) container.splice(index(container, key, false), 1);
  else delete container[key];
  return value;
}

function add(doc: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) return structuredClone(value);
  const { container, key } = parentOf(doc, path);
  if (Array.isArray(container)) container.splice(index(container, key, true), 0, structuredClone(value));
  else container[key] = structuredClone(value);
  return doc;
}

/** jsonPatch applies an RFC 6902 JSON patch (what client-node sends by default) to a copy of the target. */
export function jsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw new JsonPatchError('a JSON patch must be a list of operations');
  let doc = structuredClone(target);
  for (const raw of patch) {
    const op = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
    const path = tokens(op['path']);
    switch (op['op']) {
      case 'add':
        doc = add(doc, path, op['value']);
        break;
      case 'remove':
        remove(doc, path);
        break;
      case 'replace':
        get(doc, path);
        if (path.length === 0) doc = structuredClone(op['value']);
        else {
          remove(doc, path);
          doc = add(doc, path, op['value']);
        }
        break;
      case 'move':
        doc = add(doc, path, remove(doc, tokens(op['from'])));
        break;
      case 'copy':
        doc = add(doc, path, get(doc, tokens(op['from'])));
        break;
      case 'test':
        if (JSON.stringify(get(doc, path)) !== JSON.stringify(op['value'])) throw new JsonPatchError(`test failed at /${path.join('/')}`);
        break;
      default:
        throw new JsonPatchError(`unknown JSON patch operation: ${JSON.stringify(op['op'])}`);
    }
  }
  return doc;
}

/** PATCH_TYPES are the patch media types the simulator applies; a strategic merge patch is applied as a merge patch. */
export const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
] as const;
export type PatchType = (typeof PATCH_TYPES)[number];

export function isPatchType(type: string): type is PatchType {
  return (PATCH_TYPES as readonly string[]).includes(type);
}

/** applyPatch applies a patch of the given media type; a JSON patch that cannot apply is 422, as the API server answers. */
export function applyPatch(type: PatchType, target: unknown, patch: unknown): unknown {
  if (type !== 'application/json-patch+json') return mergePatch(target, patch);
  try {
    return jsonPatch(target, patch);
  } catch (err) {
    if (err instanceof JsonPatchError)
      throw new ApiError(statusObject(422, 'Invalid', `the server rejected our request due to an error in our request: ${err.message}`));
    throw err;
  }
}
