import { LEASES } from '../cluster/kind-lease.js';
import { PERSISTENT_VOLUME_CLAIMS } from '../cluster/kind-pvc.js';
import { SECRETS } from '../cluster/kind-secret.js';
import { SERVICES } from '../cluster/kind-service.js';
import type { KindSpec } from '../cluster/kinds.js';

/**
 * SERVED_KINDS are the rows of the kinds table the simulator starts with: to serve another kind,
 * write its KindSpec (names, verbs, validate) in its own file and add it here; routing, discovery,
 * list, watch, field selectors, faults and the conformance of 404/409/410/422 come with the row.
 */
export const SERVED_KINDS: readonly KindSpec[] = [LEASES, PERSISTENT_VOLUME_CLAIMS, SECRETS, SERVICES];
