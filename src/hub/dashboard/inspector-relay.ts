import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';

/** RelayOptions say where the relay listens and which inspector page it frames. */
export interface RelayOptions {
  /** host: 127.0.0.1 unless widened on purpose (anyone who can reach it and holds the page's key sees every server). */
  readonly host?: string;
  readonly port: number;
  /** inspectorUrl: the Stately inspector page the bridge page frames. */
  readonly inspectorUrl?: string;
}

/** InspectorRelay is a running relay: the page to open (with its key), the URL the hub publishes to, and how to stop it. */
export interface InspectorRelay {
  readonly address: AddressInfo;
  readonly pageUrl: string;
  readonly publishUrl: string;
  stop(): void;
}

const BUFFERED = 200;

/**
 * startInspectorRelay runs the local relay between the hub and the Stately inspector page, in place
 * of @statelyai/inspect's own (which listens on every interface, checks nothing and passes any
 * client's messages to every other). It listens on 127.0.0.1 by default; the bridge page and the
 * viewers' socket need a random key, which only the printed page URL carries; a browser's socket is
 * refused unless its Origin is the relay's own page (no other web page the operator visits can read
 * it); only the hub, with a second key, publishes, and nothing a viewer sends is passed on. It
 * rejects when it cannot listen (a port in use), so the caller can go on without it.
 */
export async function startInspectorRelay(options: RelayOptions): Promise<InspectorRelay> {
  const host = options.host ?? '127.0.0.1';
  const inspector = new URL(options.inspectorUrl ?? 'https://stately.ai/inspect');
  const viewKey = randomBytes(24).toString('hex');
  const publishKey = randomBytes(24).toString('hex');
  const buffer: string[] = [];
  const viewers = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });

  const http = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://relay');
    if (req.method !== 'GET' || url.pathname !== '/' || url.searchParams.get('key') !== viewKey) {
      res
        .writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' })
        .end('Forbidden: open the page URL the hub printed, with its key.\n');
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      // no-referrer: the framed inspector must not learn the key from the Referer of its request.
      'Referrer-Policy': 'no-referrer',
      'Content-Security-Policy': `default-src 'none'; frame-src ${inspector.origin}; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src ws: wss:`,
    });
    res.end(bridgePage(inspector, viewKey));
  });

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://relay');
    const key = url.searchParams.get('key');
    const role =
      url.pathname === '/publish' && key === publishKey
        ? 'publisher'
        : url.pathname === '/view' && key === viewKey && originAllowed(req, host)
          ? 'viewer'
          : undefined;
    if (role === undefined) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (role === 'publisher') {
        ws.on('message', (data) => {
          const text = data.toString();
          buffer.push(text);
          if (buffer.length > BUFFERED) buffer.shift();
          for (const v of viewers) if (v.readyState === WebSocket.OPEN) v.send(text);
        });
        return;
      }
      viewers.add(ws);
      for (const text of buffer) ws.send(text);
      ws.on('close', () => viewers.delete(ws));
      // A viewer's messages go nowhere: nobody can inject events through the relay.
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const pageHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : shown;
  return {
    address,
    pageUrl: `http://${pageHost}:${address.port}/?key=${viewKey}`,
    publishUrl: `ws://${pageHost}:${address.port}/publish?key=${publishKey}`,
    stop() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      http.closeAllConnections();
      http.close();
    },
  };
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * originAllowed accepts a socket without Origin (not a browser) or one opened by the relay's own
 * page: an http origin on the relay's port whose host is a loopback name or the host it listens on
 * (when widened to every interface, the host the browser asked for).
 */
function originAllowed(req: IncomingMessage, listenHost: string): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' || Number(url.port || 80) !== req.socket.localPort) return false;
  if (LOOPBACK_NAMES.has(url.hostname) || url.hostname === listenHost) return true;
  return (listenHost === '0.0.0.0' || listenHost === '::') && url.host === req.headers.host;
}

/** bridgePage frames the inspector and hands it what the relay sends, to the inspector's origin only. */
function bridgePage(inspector: URL, key: string): string {
  const js = (v: string) => JSON.stringify(v).replace(/</g, '\\u003c');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>spawnkeeper: Stately inspector</title>
<style>html,body{height:100%;margin:0}iframe{width:100%;height:100%;border:0}</style></head>
<body><iframe id="inspector" src=${js(inspector.href)}></iframe>
<script>
  const origin = ${js(inspector.origin)};
  const frame = document.getElementById('inspector');
  const pending = [];
  let ready = false;
  window.addEventListener('message', (e) => {
    if (e.origin !== origin || !e.data || e.data.type !== '@statelyai.connected') return;
    ready = true;
    for (const m of pending.splice(0)) frame.contentWindow.postMessage(m, origin);
  });
  const ws = new WebSocket('ws://' + location.host + '/view?key=' + ${js(key)});
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (ready) frame.contentWindow.postMessage(m, origin);
    else pending.push(m);
  };
</script></body></html>
`;
}
