import { badRequest, invalid } from './status.js';

/**
 * The query readers decode list, watch and delete parameters the way the API server's parameter
 * codec does, then check the combinations it forbids; what it rejects gets the same 400 or 422.
 */

/**
 * flag reads a boolean parameter as the API server converts query strings: absent is false; `0`
 * and `false` in any letter case are false; anything else, the empty string included, is true.
 * (So `watch=True` from the Python client, `watch=1`, `watch=yes` and a bare `?watch` all watch.)
 */
export function flag(query: URLSearchParams, name: string): boolean {
  return optionalFlag(query, name) ?? false;
}

/** optionalFlag is flag for the parameters whose absence means something of its own (sendInitialEvents). */
export function optionalFlag(query: URLSearchParams, name: string): boolean | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  return !(value === '0' || value.toLowerCase() === 'false');
}

/** integer reads a 64-bit integer parameter (an optional sign, then digits), or undefined when absent or empty. */
export function integer(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  if (!/^[+-]?[0-9]{1,15}$/.test(value)) throw badRequest(`${name}: Invalid value: "${value}": must be an integer`);
  return Number(value);
}

/** ListOptions are the decoded parameters of a list or watch. */
export interface ListOptions {
  watch: boolean;
  allowWatchBookmarks: boolean;
  /** undefined when the client did not send it, which differs from false for watches. */
  sendInitialEvents?: boolean;
  /** The raw resourceVersion: '' when absent, '0' for "any", else an integer. */
  resourceVersion: string;
  resourceVersionMatch: string;
  /** The page size; 0 when absent or not positive (no paging). */
  limit: number;
  continueToken: string;
  timeoutSeconds?: number;
}

/** readListOptions decodes a list or watch query, answering 400 for a value that does not decode and 422 for a forbidden combination. */
export function readListOptions(query: URLSearchParams): ListOptions {
  const resourceVersion = query.get('resourceVersion') ?? '';
  if (resourceVersion !== '' && !/^[0-9]{1,15}$/.test(resourceVersion))
    throw badRequest(`resourceVersion: Invalid value: "${resourceVersion}": must be a non-negative integer`);
  const sendInitialEvents = optionalFlag(query, 'sendInitialEvents');
  const timeoutSeconds = integer(query, 'timeoutSeconds');
  const options: ListOptions = {
    watch: flag(query, 'watch'),
    allowWatchBookmarks: flag(query, 'allowWatchBookmarks'),
    resourceVersion,
    resourceVersionMatch: query.get('resourceVersionMatch') ?? '',
    limit: Math.max(0, integer(query, 'limit') ?? 0),
    continueToken: query.get('continue') ?? '',
    ...(sendInitialEvents === undefined ? {} : { sendInitialEvents }),
    ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
  };
  const causes = listOptionProblems(options);
  if (causes.length > 0) throw invalid('ListOptions', '', causes, 'meta.k8s.io');
  return options;
}

/**
 * listOptionProblems is the API server's ListOptions validation (with streaming lists enabled):
 * resourceVersionMatch needs a resourceVersion on lists and sendInitialEvents on watches, Exact
 * cannot mean version 0, and sendInitialEvents belongs to watches with NotOlderThan only.
 */
function listOptionProblems(o: ListOptions): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  const match = o.resourceVersionMatch;
  const forbid = (field: string, why: string): void => void out.push({ field, message: `Forbidden: ${why}` });
  if (o.watch) {
    if (o.sendInitialEvents !== undefined && match !== 'NotOlderThan')
      forbid('resourceVersionMatch', 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan');
    if (match !== '') {
      if (o.sendInitialEvents === undefined)
        forbid('resourceVersionMatch', 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided');
      if (match !== 'NotOlderThan')
        out.push({ field: 'resourceVersionMatch', message: `Unsupported value: "${match}": supported values: "NotOlderThan"` });
      if (o.continueToken !== '') forbid('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided');
    }
    return out;
  }
  if (match !== '') {
    if (o.resourceVersion === '') forbid('resourceVersionMatch', 'resourceVersionMatch is forbidden unless resourceVersion is provided');
    if (o.continueToken !== '') forbid('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided');
    if (match !== 'Exact' && match !== 'NotOlderThan')
      out.push({ field: 'resourceVersionMatch', message: `Unsupported value: "${match}": supported values: "Exact", "NotOlderThan", ""` });
    if (match === 'Exact' && o.resourceVersion === '0')
      forbid('resourceVersionMatch', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
  }
  if (o.sendInitialEvents !== undefined) forbid('sendInitialEvents', 'sendInitialEvents is forbidden for list');
  return out;
}
