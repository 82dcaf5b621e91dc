import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { ServerConfiguration, createConfiguration } from '@kubernetes/client-node';
import type { ApiConstructor, ApiType, KubeConfig, RequestContext, SecurityAuthentication } from '@kubernetes/client-node';

/**
 * AgentPool keeps one keep-alive agent per set of connection options. client-node 1.4 builds a new
 * `http.Agent` or `https.Agent` for every call (in `applySecurityAuthentication`), so every call opens
 * a new TCP connection, and against a real API server does a new TLS handshake; a burst of creates
 * pays that once per pod. The pool hands out, for an agent client-node just made, a kept-alive one
 * made with exactly the same options (certificates, CA, server name, TLS verification), so a change
 * of any of them (a rotated client certificate) gets an agent of its own. Agents of other kinds (a
 * proxy's) are passed through as they are.
 */
export class AgentPool {
  private readonly agents = new Map<string, http.Agent>();

  /** size is how many kept-alive agents the pool holds. */
  get size(): number {
    return this.agents.size;
  }

  /** pooled answers the kept-alive agent to use in place of `fresh`, or `fresh` itself when it is not a plain HTTP(S) agent. */
  pooled(fresh: http.Agent | https.Agent): http.Agent | https.Agent {
    const kind = fresh.constructor === https.Agent ? 'https' : fresh.constructor === http.Agent ? 'http' : undefined;
    if (kind === undefined) return fresh;
    const options = (fresh as unknown as { options: Record<string, unknown> }).options;
    const key = `${kind}:${optionsDigest(options)}`;
    let agent = this.agents.get(key);
    if (agent === undefined) {
      const kept = { ...options, keepAlive: true };
      agent = kind === 'https' ? new https.Agent(kept) : new http.Agent(kept);
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** close ends every idle connection of the pool. */
  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}

/** optionsDigest names a set of agent options: every value that decides the connection, certificates by their bytes. */
function optionsDigest(options: Record<string, unknown>): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(options).sort()) {
    const value = options[name];
    if (value === undefined || typeof value === 'function') continue;
    hash.update(`${name}\0`);
    const parts = Array.isArray(value) ? value : [value];
    for (const part of parts) hash.update(Buffer.isBuffer(part) ? part : (JSON.stringify(part) ?? 'undefined')).update('\0');
    hash.update('\x01');
  }
  return hash.digest('hex');
}

/**
 * pooledApiClient is `kc.makeApiClient(type)` whose calls share the pool's kept-alive connections:
 * the kubeconfig still authenticates every call (tokens, certificates, an exec plugin), and only the
 * agent it made for the call is swapped for the pool's.
 */
export function pooledApiClient<T extends ApiType>(kc: KubeConfig, type: ApiConstructor<T>, pool: AgentPool): T {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('No active cluster!');
  const auth: SecurityAuthentication = {
    getName: () => kc.getName(),
    async applySecurityAuthentication(context: RequestContext): Promise<void> {
      await kc.applySecurityAuthentication(context);
      const fresh = context.getAgent();
      if (fresh !== undefined) context.setAgent(pool.pooled(fresh));
    },
  };
  return new type(createConfiguration({ baseServer: new ServerConfiguration(cluster.server, {}), authMethods: { default: auth } }));
}
