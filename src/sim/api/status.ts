/**
 * Status objects are how the API server reports every failure; clients (client-node, kubectl)
 * parse `reason` and `code`, so the simulator never answers an error with anything else.
 */
export interface StatusDetails {
  name?: string;
  kind?: string;
  group?: string;
  causes?: { reason: string; message: string; field?: string }[];
  retryAfterSeconds?: number;
}

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, string>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

/** statusObject builds a Failure Status; `details` is left out when empty, as the server does. */
export function statusObject(code: number, reason: string, message: string, details?: StatusDetails): KubeStatus {
  const status: KubeStatus = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details !== undefined) status.details = details;
  return status;
}

/** ApiError carries a Status through the handlers so one place turns it into an HTTP answer. */
export class ApiError extends Error {
  readonly status: KubeStatus;

  constructor(
    status: KubeStatus,
    readonly headers: Record<string, string> = {},
  ) {
    super(status.message);
    this.name = 'ApiError';
    this.status = status;
  }

  get code(): number {
    return this.status.code;
  }
}

/** qualified names a resource or kind with its API group, as messages do (`leases.coordination.k8s.io`); core stays bare. */
function qualified(name: string, group: string): string {
  return group === '' ? name : `${name}.${group}`;
}

function named(name: string, resource: string, group: string): StatusDetails {
  return group === '' ? { name, kind: resource } : { name, group, kind: resource };
}

export function notFound(resource: string, name: string, group = ''): ApiError {
  return new ApiError(statusObject(404, 'NotFound', `${qualified(resource, group)} "${name}" not found`, named(name, resource, group)));
}

export function alreadyExists(resource: string, name: string, group = ''): ApiError {
  return new ApiError(
    statusObject(409, 'AlreadyExists', `${qualified(resource, group)} "${name}" already exists`, named(name, resource, group)),
  );
}

export function conflict(resource: string, name: string, why: string, group = ''): ApiError {
  return new ApiError(
    statusObject(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": ${why}`,
      named(name, resource, group),
    ),
  );
}

/** deleted is the Success Status a delete answers with for kinds that do not return the deleted object. */
export function deleted(resource: string, name: string, uid: string, group = ''): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { ...named(name, resource, group), uid } };
}

export function badRequest(message: string): ApiError {
  return new ApiError(statusObject(400, 'BadRequest', message));
}

/**
 * invalid is 422, what Kubernetes answers when an object fails validation, with one cause per field;
 * its details name the kind (not the resource), qualified by the group outside the core.
 */
export function invalid(kind: string, name: string, causes: { field: string; message: string }[], group = ''): ApiError {
  const summary = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  const details: StatusDetails = {
    name,
    ...(group === '' ? {} : { group }),
    kind,
    causes: causes.map((c) => ({ reason: causeReason(c.message), message: c.message, field: c.field })),
  };
  return new ApiError(statusObject(422, 'Invalid', `${qualified(kind, group)} "${name}" is invalid: ${summary}`, details));
}

/** causeReason maps a field error's message to its cause type, as field.Error does. */
function causeReason(message: string): string {
  if (message.startsWith('Required value')) return 'FieldValueRequired';
  if (message.startsWith('Forbidden')) return 'FieldValueForbidden';
  if (message.startsWith('Unsupported value')) return 'FieldValueNotSupported';
  if (message.startsWith('Duplicate value')) return 'FieldValueDuplicate';
  if (message.startsWith('Too long')) return 'FieldValueTooLong';
  return 'FieldValueInvalid';
}

export function pathNotFound(): ApiError {
  return new ApiError(statusObject(404, 'NotFound', 'the server could not find the requested resource', {}));
}

export function methodNotAllowed(method: string): ApiError {
  return new ApiError(
    statusObject(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method})`, {}),
  );
}

export function tooLarge(limit: number): ApiError {
  return new ApiError(statusObject(413, 'RequestEntityTooLarge', `the request body is larger than ${limit} bytes`), {
    Connection: 'close',
  });
}

export function unsupportedMediaType(type: string): ApiError {
  return new ApiError(
    statusObject(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json, application/merge-patch+json, application/strategic-merge-patch+json (got ${type})`,
    ),
  );
}

/** expired is the 410 a too-old resourceVersion or continue token gets. */
export function expired(message: string): ApiError {
  return new ApiError(statusObject(410, 'Expired', message));
}

/** The 410 messages of a list at a version the store no longer keeps, and of a continue token that old. */
export const LIST_TOO_OLD = 'The resourceVersion for the provided list is too old.';
export const CONTINUE_TOO_OLD =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.';

/**
 * tooLargeResourceVersion is the 504 an API server answers after waiting in vain for a version it
 * has not reached (a client ahead of it, or of a restored etcd); clients retry after a second.
 */
export function tooLargeResourceVersion(asked: number, current: number): ApiError {
  return new ApiError(
    statusObject(504, 'Timeout', `Timeout: Too large resource version: ${asked}, current: ${current}`, {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    }),
    { 'Retry-After': '1' },
  );
}

/** injected builds the Status of a fault-injected failure, shaped like the real one for that code. */
export function injected(code: number): ApiError {
  switch (code) {
    case 410:
      return expired('too old resource version: injected by the simulator');
    case 429:
      return new ApiError(statusObject(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds: 1 }), {
        'Retry-After': '1',
      });
    case 503:
      return new ApiError(statusObject(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'));
    case 504:
      return new ApiError(
        statusObject(504, 'Timeout', 'Timeout: request did not complete within the allotted timeout (injected by the simulator)', {
          retryAfterSeconds: 1,
        }),
      );
    default:
      return new ApiError(
        statusObject(code, 'InternalError', 'Internal error occurred: injected by the simulator', {
          causes: [{ reason: 'UnexpectedServerResponse', message: 'injected by the simulator' }],
        }),
      );
  }
}
