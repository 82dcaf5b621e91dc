import type { Server } from 'node:http';
import type { ListenerControl } from '../faults/faults.js';

/** LOOPBACK is the only address the simulator listens on: it must never be reachable from elsewhere. */
export const LOOPBACK = '127.0.0.1';

function listenOnce(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port, host: LOOPBACK, exclusive: true });
  });
}

/**
 * Listener owns the listening socket so a fault can really close it (clients get ECONNREFUSED, as
 * in the 2017 mybinder incident) and open it again on the same port.
 */
export class Listener implements ListenerControl {
  private open = false;
  private boundPort = 0;
  private closing: Promise<void> | undefined;
  private reopening: Promise<void> | undefined;

  constructor(private readonly server: Server) {}

  port(): number {
    return this.boundPort;
  }

  isOpen(): boolean {
    return this.open;
  }

  async listen(port: number): Promise<number> {
    this.boundPort = await listenOnce(this.server, port);
    this.open = true;
    return this.boundPort;
  }

  /** close stops listening and drops every open connection, watches included. */
  async close(): Promise<void> {
    await this.reopening?.catch(() => undefined);
    if (!this.open) return this.closing;
    this.open = false;
    this.closing = new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  /**
   * reopen listens again on the same port, retrying briefly (in real time: this is the host's
   * socket, not simulated time) if the port is not yet free.
   */
  reopen(): Promise<void> {
    if (this.open) return Promise.resolve();
    this.reopening ??= this.relisten().finally(() => {
      this.reopening = undefined;
    });
    return this.reopening;
  }

  private async relisten(): Promise<void> {
    await this.closing;
    if (this.open) return;
    for (let attempt = 0; ; attempt++) {
      try {
        await listenOnce(this.server, this.boundPort);
        this.open = true;
        return;
      } catch (err) {
        if (attempt >= 20 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  }
}
