import type { V1Container, V1Pod, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { TemplateOverrides } from './spec.js';
import { claimNameOf, storageOf } from './spec.js';
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

/**
 * PodTemplate is the configurable part of every server pod: what z2jh's singleuser settings give
 * KubeSpawner (image, resources, volumes and mounts, a per-user claim, node selector, tolerations).
 * A profile or a start request overrides fields of it (spec.ts).
 */
export interface PodTemplate extends TemplateOverrides {
  image: string;
  port: number;
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

/** CLAIM_VOLUME is the name of the volume of the per-user claim in the pod. */
export const CLAIM_VOLUME = 'home';

/**
 * podManifest is the pod for one server: our labels and the server's identity are not overridable.
 * secretName names the Secret whose keys become the container's environment (envFrom), when the
 * start gave one; the template's storage mounts the server's claim.
 */
export function podManifest(key: string, instance: string, t: PodTemplate, secretName?: string): V1Pod {
  const { user, name } = parseServerKey(key);
  const volumes: V1Volume[] = [...(t.volumes ?? [])];
  const mounts: V1VolumeMount[] = [...(t.volumeMounts ?? [])];
  if (t.storage != null) {
    const storage = storageOf(t.storage);
    volumes.push({ name: CLAIM_VOLUME, persistentVolumeClaim: { claimName: claimNameOf(storage.claimName, key) } });
    mounts.push({ name: CLAIM_VOLUME, mountPath: storage.mountPath });
  }
  const extra: Partial<V1Container> = {
    ...(mounts.length === 0 ? {} : { volumeMounts: mounts }),
    ...(secretName === undefined ? {} : { envFrom: [{ secretRef: { name: secretName } }] }),
  };
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
      ...(t.nodeSelector === undefined ? {} : { nodeSelector: t.nodeSelector }),
      ...(t.tolerations === undefined ? {} : { tolerations: t.tolerations }),
      ...(volumes.length === 0 ? {} : { volumes }),
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
          ...extra,
        },
      ],
    },
  };
}
