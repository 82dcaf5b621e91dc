import type { AddressInfo } from 'node:net';
import { createWebSocketInspector } from '@statelyai/inspect';
import { WebSocket, WebSocketServer } from 'ws';
import { createMachine } from 'xstate';
import type { AnyStateMachine } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import { serverMachine } from '../../machines/server.machine.js';
import { structure } from '../../src/hub/cli/export-machine.js';
import { startInspection } from '../../src/hub/dashboard/inspection.js';
import { actorId, attachInspector, sanitize } from '../../src/hub/dashboard/inspector.js';
import type { TestHub } from './hub-helpers.js';
import { startTestHub } from './hub-helpers.js';
import { eventually } from '../support/live.js';

interface Message {
  type: string;
  sessionId?: string;
  definition?: string;
  event?: { type: string };
  snapshot?: { value: unknown; context?: Record<string, unknown> };
}

let hub: TestHub | undefined;
let wss: WebSocketServer | undefined;
afterEach(async () => {
  await hub?.close();
  await new Promise((r) => (wss === undefined ? r(undefined) : wss.close(r)));
  hub = undefined;
  wss = undefined;
});

describe('Stately inspector', () => {
  it('streams registration with the machine definition, then events and snapshots in order, for a start → ready → stop through the API', async () => {
    const messages: Message[] = [];
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss!.once('listening', r));
    wss.on('connection', (socket) => socket.on('message', (data) => messages.push(JSON.parse(String(data)) as Message)));
    hub = await startTestHub();
    const inspector = createWebSocketInspector({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` });
    const detach = attachInspector(hub.running.sk, inspector);
    try {
      expect((await hub.call('POST', '/hub/api/users/insa')).status).toBe(201);
      expect([201, 202]).toContain((await hub.call('POST', '/hub/api/users/insa/server')).status);
      await hub.running.sk.waitFor('insa', '', (s) => s.state === 'running', 10_000);
      expect([202, 204]).toContain((await hub.call('DELETE', '/hub/api/users/insa/server')).status);
      await hub.running.sk.waitFor('insa', '', (s) => s.state === 'stopped', 10_000);
      await eventually(
        'the last snapshot to arrive',
        () => messages.some((m) => m.type === '@xstate.snapshot' && m.snapshot?.value === 'stopped'),
        5_000,
      );
    } finally {
      detach();
      inspector.stop();
    }
    const ours = messages.filter((m) => m.sessionId === actorId('insa/'));
    const first = ours[0];
    expect(first?.type).toBe('@xstate.actor');
    const definition = createMachine(JSON.parse(first?.definition ?? '{}')) as AnyStateMachine;
    expect(structure(definition)).toEqual(structure(serverMachine));
    // Each committed step is an event followed by the snapshot it led to.
    const steps = ours.slice(1);
    for (let i = 0; i < steps.length; i += 2) {
      expect(steps[i]?.type).toBe('@xstate.event');
      expect(steps[i + 1]?.type).toBe('@xstate.snapshot');
    }
    const events = steps.filter((m) => m.type === '@xstate.event').map((m) => m.event?.type);
    const values = steps.filter((m) => m.type === '@xstate.snapshot').map((m) => JSON.stringify(m.snapshot?.value));
    expect(events[0]).toBe('server.start');
    expect(events.indexOf('server.stop')).toBeGreaterThan(0);
    const running = values.indexOf('{"running":"ready"}');
    expect(running).toBeGreaterThan(0);
    expect(values.findIndex((v) => v.includes('stop_pending'))).toBeGreaterThan(running);
    expect(values.at(-1)).toBe('"stopped"');
  });

  it('relays the hub through the local relay to viewers holding the key, and passes on nothing a viewer sends', async () => {
    hub = await startTestHub();
    const lines: string[] = [];
    const inspection = await startInspection(
      hub.running.sk,
      { port: 0 },
      { out: (l) => lines.push(l), err: (l) => lines.push(l), env: {} },
    );
    const viewers: WebSocket[] = [];
    try {
      const page = new URL(inspection.pageUrl ?? '');
      expect(lines.join('\n')).toContain(page.href);
      const served = await fetch(page);
      expect(served.headers.get('referrer-policy')).toBe('no-referrer');
      expect(await served.text()).toContain('https://stately.ai/inspect');
      const view = `ws://${page.host}/view?key=${page.searchParams.get('key') ?? ''}`;
      const connect = async () => {
        const ws = new WebSocket(view);
        viewers.push(ws);
        await new Promise((r) => ws.once('open', r));
        const got: Message[] = [];
        ws.on('message', (d) => got.push(JSON.parse(String(d)) as Message));
        return { ws, got };
      };
      const a = await connect();
      const b = await connect();
      b.ws.send(JSON.stringify({ type: '@xstate.event', sessionId: 'server:forged/', event: { type: 'server.stop' } }));
      expect((await hub.call('POST', '/hub/api/users/relayed')).status).toBe(201);
      expect([201, 202]).toContain((await hub.call('POST', '/hub/api/users/relayed/server')).status);
      await eventually(
        'the start to reach the viewer',
        () => a.got.some((m) => m.sessionId === actorId('relayed/') && m.type === '@xstate.event'),
        10_000,
      );
      expect(a.got.some((m) => m.sessionId === 'server:forged/')).toBe(false);
      expect(b.got.some((m) => m.sessionId === actorId('relayed/'))).toBe(true);
      expect(
        await new Promise((r) =>
          new WebSocket(`ws://${page.host}/publish?key=${page.searchParams.get('key') ?? ''}`).once('unexpected-response', (_q, res) =>
            r(res.statusCode),
          ),
        ),
      ).toBe(403);
    } finally {
      for (const v of viewers) v.close();
      inspection.stop();
    }
  });

  it('redacts anything that looks like a credential', () => {
    expect(sanitize({ a: 1, apiToken: 'x', nested: [{ password: 'p', ok: true }] })).toEqual({
      a: 1,
      apiToken: '[redacted]',
      nested: [{ password: '[redacted]', ok: true }],
    });
  });
});
