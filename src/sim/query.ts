import { badRequest } from './status.js';

/**
 * The query readers turn list, watch and delete parameters into numbers and flags, answering 400
 * for values the real API server would reject instead of guessing.
 */

export function flag(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  return value === 'true' || value === '1';
}

/** integer reads a non-negative integer parameter, or undefined when absent or empty. */
export function integer(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  if (!/^[0-9]{1,15}$/.test(value)) throw badRequest(`${name}: Invalid value: "${value}": must be a non-negative integer`);
  return Number(value);
}

/** resourceVersion reads `resourceVersion`: undefined when absent or empty, else its integer value. */
export function resourceVersion(query: URLSearchParams): number | undefined {
  const value = query.get('resourceVersion');
  if (value === null || value === '') return undefined;
  if (!/^[0-9]{1,15}$/.test(value)) throw badRequest(`resourceVersion: Invalid value: "${value}": must be a non-negative integer`);
  return Number(value);
}
