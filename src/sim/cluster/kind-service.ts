import type { KindContext, KindSpec } from './kinds.js';
import type { Cause } from './object-meta.js';
import { checkLabels, isDns1123Label, isDns1123Subdomain, isRecord } from './object-meta.js';
import type { KubeObject } from './types.js';

const TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const IANA_SVC_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-))*[a-z0-9]$|^[a-z]$/;
/** The service range 10.96.0.0/12: 10.96.0.1 is the API server's own `kubernetes` Service, so allocation starts above it. */
const FIRST_IP = (10 << 24) | (96 << 16) | 10;
const LAST_IP = (10 << 24) | (111 << 16) | (255 << 8) | 254;
const NODE_PORTS = { first: 30000, last: 32767 };

function ipText(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

function ipNumber(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

function usedIPs(ctx: KindContext): Set<string> {
  return new Set(
    ctx
      .objects('services')
      .map((s) => (s['spec'] as Record<string, unknown> | undefined)?.['clusterIP'])
      .filter((ip): ip is string => typeof ip === 'string'),
  );
}

function usedNodePorts(ctx: KindContext): Set<number> {
  const out = new Set<number>();
  for (const s of ctx.objects('services')) {
    const ports = (s['spec'] as Record<string, unknown> | undefined)?.['ports'];
    if (Array.isArray(ports)) for (const p of ports) if (isRecord(p) && typeof p['nodePort'] === 'number') out.add(p['nodePort']);
  }
  return out;
}

function checkPort(raw: unknown, i: number, many: boolean, causes: Cause[]): Record<string, unknown> {
  const p = isRecord(raw) ? raw : {};
  const at = `spec.ports[${i}]`;
  const name = p['name'];
  if ((name === undefined || name === '') && many) causes.push({ field: `${at}.name`, message: 'Required value' });
  else if (name !== undefined && (typeof name !== 'string' || (name !== '' && !isDns1123Label(name))))
    causes.push({
      field: `${at}.name`,
      message: `Invalid value: "${String(name)}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'`,
    });
  const port = p['port'];
  if (port === undefined) causes.push({ field: `${at}.port`, message: 'Required value' });
  else if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    causes.push({ field: `${at}.port`, message: `Invalid value: ${JSON.stringify(port)}: must be between 1 and 65535, inclusive` });
  const protocol = p['protocol'] ?? 'TCP';
  if (typeof protocol !== 'string' || !PROTOCOLS.includes(protocol))
    causes.push({ field: `${at}.protocol`, message: `Unsupported value: "${String(protocol)}": supported values: "SCTP", "TCP", "UDP"` });
  const target = p['targetPort'] ?? port;
  const targetOk =
    (typeof target === 'number' && Number.isInteger(target) && target >= 1 && target <= 65535) ||
    (typeof target === 'string' && target.length <= 15 && IANA_SVC_NAME.test(target));
  if (!targetOk && port !== undefined)
    causes.push({
      field: `${at}.targetPort`,
      message: `Invalid value: ${JSON.stringify(target)}: must be between 1 and 65535, inclusive, or a valid port name`,
    });
  return { ...p, protocol, targetPort: target };
}

function checkPorts(spec: Record<string, unknown>, required: boolean, causes: Cause[]): Record<string, unknown>[] {
  const raw = spec['ports'];
  if (raw !== undefined && raw !== null && !Array.isArray(raw)) {
    causes.push({ field: 'spec.ports', message: 'must be a list of ports' });
    return [];
  }
  const list = Array.isArray(raw) ? raw : [];
  if (list.length === 0 && required) causes.push({ field: 'spec.ports', message: 'Required value' });
  const ports = list.map((p, i) => checkPort(p, i, list.length > 1, causes));
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const name = p['name'];
    if (typeof name !== 'string' || name === '') return;
    if (names.has(name)) causes.push({ field: `spec.ports[${i}].name`, message: `Duplicate value: "${name}"` });
    names.add(name);
  });
  return ports;
}

/** allocateIP takes the clusterIP the client asked for (if free and in range) or the lowest free one. */
function allocateIP(asked: unknown, ctx: KindContext, causes: Cause[]): string | undefined {
  const used = usedIPs(ctx);
  if (typeof asked === 'string' && asked !== '') {
    const n = ipNumber(asked);
    if (n === undefined)
      causes.push({
        field: 'spec.clusterIP',
        message: `Invalid value: "${asked}": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`,
      });
    else if (n < FIRST_IP - 9 || n > LAST_IP)
      causes.push({
        field: 'spec.clusterIP',
        message: `Invalid value: "${asked}": provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12`,
      });
    else if (used.has(asked))
      causes.push({ field: 'spec.clusterIP', message: `Invalid value: "${asked}": provided IP is already allocated` });
    return asked;
  }
  for (let n = FIRST_IP; n <= LAST_IP; n++) if (!used.has(ipText(n))) return ipText(n);
  causes.push({ field: 'spec.clusterIP', message: 'Internal error: range is full' });
  return undefined;
}

function allocateNodePorts(ports: Record<string, unknown>[], ctx: KindContext, causes: Cause[]): void {
  const used = usedNodePorts(ctx);
  ports.forEach((p, i) => {
    const asked = p['nodePort'];
    if (typeof asked === 'number' && asked !== 0) {
      if (asked < NODE_PORTS.first || asked > NODE_PORTS.last)
        causes.push({
          field: `spec.ports[${i}].nodePort`,
          message: `Invalid value: ${asked}: provided port is not in the valid range. The range of valid ports is ${NODE_PORTS.first}-${NODE_PORTS.last}`,
        });
      else if (used.has(asked))
        causes.push({ field: `spec.ports[${i}].nodePort`, message: `Invalid value: ${asked}: provided port is already allocated` });
      used.add(asked);
      return;
    }
    for (let n = NODE_PORTS.first; n <= NODE_PORTS.last; n++) {
      if (used.has(n)) continue;
      p['nodePort'] = n;
      used.add(n);
      return;
    }
  });
}

/**
 * SERVICES serves core/v1 Services: ports checked and defaulted (TCP, targetPort = port), a cluster
 * IP from 10.96.0.0/12 and node ports from 30000-32767 allocated (lowest free, so runs repeat), and
 * on update the allocated addresses kept when the client leaves them out, as the API server does.
 */
export const SERVICES: KindSpec = {
  group: '',
  version: 'v1',
  resource: 'services',
  kind: 'Service',
  singular: 'service',
  shortNames: ['svc'],
  categories: ['all'],
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  nameRule: 'dns1035Label',
  fieldLabels: [],
  returnDeletedObject: true,
  validate(body, metadata, ctx, causes, previous) {
    const spec: Record<string, unknown> = isRecord(body['spec']) ? { ...body['spec'] } : {};
    const type = spec['type'] ?? 'ClusterIP';
    if (typeof type !== 'string' || !TYPES.includes(type))
      causes.push({
        field: 'spec.type',
        message: `Unsupported value: "${String(type)}": supported values: ${TYPES.map((t) => `"${t}"`).join(', ')}`,
      });
    const before = previous === undefined ? undefined : (previous['spec'] as Record<string, unknown>);
    const external = type === 'ExternalName';
    if (spec['clusterIP'] === undefined && before !== undefined && !external) spec['clusterIP'] = before['clusterIP'];
    const headless = spec['clusterIP'] === 'None';
    const ports = checkPorts(spec, !external && !headless, causes);
    if (before !== undefined && Array.isArray(before['ports'])) {
      for (const p of ports) {
        const old = (before['ports'] as Record<string, unknown>[]).find((o) => o['port'] === p['port'] && o['protocol'] === p['protocol']);
        if (p['nodePort'] === undefined && old?.['nodePort'] !== undefined) p['nodePort'] = old['nodePort'];
      }
    }
    const selector = checkLabels(spec['selector'], 'spec.selector', causes);
    const out: Record<string, unknown> = { ...spec, type, ports, sessionAffinity: spec['sessionAffinity'] ?? 'None' };
    if (selector === undefined) delete out['selector'];
    if (ports.length === 0) delete out['ports'];
    if (external) {
      const name = spec['externalName'];
      if (typeof name !== 'string' || name === '') causes.push({ field: 'spec.externalName', message: 'Required value' });
      else if (!isDns1123Subdomain(name.replace(/\.$/, '')))
        causes.push({
          field: 'spec.externalName',
          message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
        });
      delete out['clusterIP'];
    } else if (headless) {
      Object.assign(out, { clusterIP: 'None', clusterIPs: ['None'] });
    } else {
      const ip =
        previous !== undefined && spec['clusterIP'] === before?.['clusterIP']
          ? spec['clusterIP']
          : allocateIP(spec['clusterIP'], ctx, causes);
      Object.assign(out, {
        clusterIP: ip,
        clusterIPs: [ip],
        ipFamilies: ['IPv4'],
        ipFamilyPolicy: 'SingleStack',
        internalTrafficPolicy: spec['internalTrafficPolicy'] ?? 'Cluster',
      });
    }
    if (before !== undefined && before['clusterIP'] !== undefined && out['clusterIP'] !== before['clusterIP'] && !external) {
      causes.push({
        field: 'spec.clusterIPs[0]',
        message: `Invalid value: ${JSON.stringify([String(out['clusterIP'])])}: may not change once set`,
      });
    }
    if (type === 'NodePort' || type === 'LoadBalancer') {
      allocateNodePorts(
        ports.filter((p) => p['nodePort'] === undefined || previous === undefined),
        ctx,
        causes,
      );
      out['externalTrafficPolicy'] = spec['externalTrafficPolicy'] ?? 'Cluster';
    }
    if (type === 'LoadBalancer') out['allocateLoadBalancerNodePorts'] = spec['allocateLoadBalancerNodePorts'] ?? true;
    const status = previous?.['status'] ?? { loadBalancer: {} };
    const service: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata, spec: out, status };
    return service;
  },
};
