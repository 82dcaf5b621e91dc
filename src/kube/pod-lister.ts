import type { KubeConfig } from '@kubernetes/client-node';
import fetch from 'node-fetch';
import type { AgentPool } from './agents.js';
import type { Page } from './list-watch.js';

/** PodListQuery is one page's request: a label selector, a page size and the continue token of the page before. */
export interface PodListQuery {
  readonly labelSelector: string;
  readonly limit?: number | undefined;
  readonly cont?: string | undefined;
}

/** PodLister reads one page of pods as the API server sent them: plain JSON, the shape watch events have. */
export type PodLister = (query: PodListQuery, signal: AbortSignal) => Promise<Page<unknown>>;

/**
 * rawPodLister lists pods the way client-node's own `Watch` streams them: one GET with the
 * kubeconfig's fetch options (its certificates, CA, token or exec plugin), through the pool's
 * kept-alive connections, the body parsed as plain JSON. A relist reads a handful of fields of each
 * pod; client-node's typed `listNamespacedPod` would first copy every field of every pod through its
 * ObjectSerializer, a third of a 10,000-pod relist from the simulator (bench/README.md). The call
 * carries `signal`, so a stopping hub does not wait for a list.
 */
export function rawPodLister(kc: KubeConfig, namespace: string, pool?: AgentPool): PodLister {
  return async (query, signal) => {
    const cluster = kc.getCurrentCluster();
    if (cluster === null) throw new Error('No active cluster!');
    const url = new URL(`${cluster.server}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`);
    url.searchParams.set('labelSelector', query.labelSelector);
    if (query.limit !== undefined) url.searchParams.set('limit', String(query.limit));
    if (query.cont !== undefined) url.searchParams.set('continue', query.cont);
    const init = await kc.applyToFetchOptions({ method: 'GET' });
    if (pool !== undefined && init.agent !== undefined && typeof init.agent === 'object') init.agent = pool.pooled(init.agent);
    init.signal = signal as NonNullable<typeof init.signal>;
    const res = await fetch(url.toString(), init);
    const text = await res.text();
    if (!res.ok) throw Object.assign(new Error(`listing pods answered ${res.status}: ${text.slice(0, 300)}`), { statusCode: res.status });
    const list = JSON.parse(text) as { metadata?: { resourceVersion?: string; continue?: string }; items?: unknown[] | null };
    return { metadata: { resourceVersion: list.metadata?.resourceVersion, _continue: list.metadata?.continue }, items: list.items ?? [] };
  };
}
