import type { V1Pod } from '@kubernetes/client-node';
import {
  ANNOTATION_KEY,
  ANNOTATION_SERVER_NAME,
  ANNOTATION_USER,
  LABEL_INSTANCE,
  LABEL_MANAGED_BY,
  LABEL_SERVER,
  MANAGED_BY,
  keyHash,
  parseServerKey,
  podName,
} from './names.js';

/** PodTemplate is the configurable part of every server pod. */
export interface PodTemplate {
  image: string;
  command?: string[] | undefined;
  args?: string[] | undefined;
  port: number;
  env?: Record<string, string> | undefined;
  /** resources: Kubernetes quantities, e.g. { requests: { cpu: '100m', memory: '256Mi' } }. */
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> } | undefined;
  labels?: Record<string, string> | undefined;
  annotations?: Record<string, string> | undefined;
  serviceAccountName?: string | undefined;
  podNamePrefix: string;
  /** terminationGracePeriodSeconds of the pod itself (Kubernetes' default is 30). */
  terminationGraceSeconds: number;
}

export const DEFAULT_TEMPLATE: PodTemplate = {
  image: 'quay.io/jupyter/base-notebook:latest',
  port: 8888,
  podNamePrefix: 'jupyter',
  terminationGraceSeconds: 30,
};

/** selector is the label selector of every pod this hub instance owns. */
export function selector(instance: string): string {
  return `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_INSTANCE}=${instance}`;
}

/** podManifest is the pod for one server: our labels and the server's identity are not overridable. */
export function podManifest(key: string, instance: string, t: PodTemplate): V1Pod {
  const { user, name } = parseServerKey(key);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName(key, t.podNamePrefix),
      labels: { ...t.labels, [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_INSTANCE]: instance, [LABEL_SERVER]: keyHash(key) },
      annotations: { ...t.annotations, [ANNOTATION_KEY]: key, [ANNOTATION_USER]: user, [ANNOTATION_SERVER_NAME]: name },
    },
    spec: {
      restartPolicy: 'OnFailure',
      terminationGracePeriodSeconds: t.terminationGraceSeconds,
      ...(t.serviceAccountName === undefined ? { automountServiceAccountToken: false } : { serviceAccountName: t.serviceAccountName }),
      containers: [
        {
          name: 'notebook',
          image: t.image,
          ...(t.command === undefined ? {} : { command: t.command }),
          ...(t.args === undefined ? {} : { args: t.args }),
          ports: [{ name: 'notebook-port', containerPort: t.port }],
          env: [
            ...Object.entries(t.env ?? {}).map(([k, v]) => ({ name: k, value: v })),
            { name: 'JUPYTERHUB_USER', value: user },
            { name: 'JUPYTERHUB_SERVER_NAME', value: name },
          ],
          ...(t.resources === undefined ? {} : { resources: t.resources }),
        },
      ],
    },
  };
}
