import type { AddressInfo } from 'node:net';
import type { Spawnkeeper } from '../../spawnkeeper.js';
import type { CliIo } from '../cli/io.js';
import { attachInspector } from './inspector.js';
import { startInspectorRelay } from './inspector-relay.js';

/** InspectionOptions: stream to `url`, or run the local relay on `host` (127.0.0.1 by default) and `port`. */
export interface InspectionOptions {
  readonly url?: string;
  readonly host?: string;
  readonly port?: number;
}

/** Inspection is what `serve --inspect` started: how to stop it and, with the relay, the page to open. */
export interface Inspection {
  readonly pageUrl?: string;
  readonly address?: AddressInfo;
  stop(): void;
}

/**
 * startInspection connects the Stately inspector: to a given WebSocket URL, or through the local
 * relay. A relay that cannot listen (its port taken) is reported and skipped: the inspector is a
 * debugging aid, and the hub goes on serving without it.
 */
export async function startInspection(sk: Spawnkeeper, options: InspectionOptions, io: CliIo): Promise<Inspection> {
  const { createWebSocketInspector } = await import('@statelyai/inspect');
  let url = options.url;
  let relay: Awaited<ReturnType<typeof startInspectorRelay>> | undefined;
  if (url === undefined) {
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 8080;
    try {
      relay = await startInspectorRelay({ host, port });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      io.err(
        `  inspector: cannot listen on ${host}:${port} (${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message}); the hub goes on without it (choose another with --inspect-port)`,
      );
      return { stop: () => undefined };
    }
    url = relay.publishUrl;
    io.out(`  inspector: open ${relay.pageUrl} in a browser (the page frames the Stately inspector from stately.ai)`);
  } else {
    io.out(`  inspector: streaming to ${url}`);
  }
  const inspector = createWebSocketInspector({ url });
  const detach = attachInspector(sk, inspector);
  return {
    ...(relay === undefined ? {} : { pageUrl: relay.pageUrl, address: relay.address }),
    stop() {
      detach();
      inspector.stop();
      relay?.stop();
    },
  };
}
