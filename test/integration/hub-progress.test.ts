import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from './hub-helpers.js';
import { ADMIN, FAST_KUBELET, readEvents, startTestHub, waitFor } from './hub-helpers.js';

type Json = Record<string, unknown>;
const api = '/hub/api';

describe('hub progress stream and the whole flow', () => {
  let hub: TestHub;
  const progress = (path: string) => fetch(`${hub.url}${api}${path}`, { headers: { Authorization: `token ${ADMIN}` } });
  const kubelet = () => hub.running.sim!.kubelet;
  beforeAll(async () => {
    hub = await startTestHub({ slowSpawnTimeout: 0.05, slowStopTimeout: 5 });
    for (const name of ['flo', 'rdy', 'bad', 'can', 'que']) await hub.call('POST', `${api}/users/${name}`);
  });
  afterAll(() => hub.close());

  it('runs start → progress → ready → activity → stop through the API', async () => {
    kubelet().setDelays({ readyMs: 400 });
    let frames: Json[];
    let raw: string;
    try {
      const start = await hub.call('POST', `${api}/users/flo/server`);
      expect(start.status).toBe(202);
      const res = await progress('/users/flo/server/progress');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      ({ frames, raw } = await readEvents(res));
    } finally {
      kubelet().setDelays({ readyMs: FAST_KUBELET.readyMs });
    }
    expect(frames[0]).toEqual({ progress: 0, message: 'Server requested' });
    const events = frames.slice(1, -1);
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) {
      expect(e['raw_event']).toMatchObject({ kind: 'Event', involvedObject: { kind: 'Pod', name: 'jupyter-flo' } });
      expect(e['message']).toMatch(/\[(Normal|Warning)\] /);
      expect(e['progress']).toBeLessThan(100);
    }
    expect(events.map((e) => (e['raw_event'] as Json)['reason'])).toEqual(expect.arrayContaining(['Scheduled', 'Started']));
    const progressValues = events.map((e) => e['progress'] as number);
    expect(progressValues).toEqual([...progressValues].sort((a, b) => a - b));
    expect(frames.at(-1)).toEqual({
      progress: 100,
      ready: true,
      message: 'Server ready at /user/flo/',
      html_message: 'Server ready at <a href="/user/flo/">/user/flo/</a>',
      url: '/user/flo/',
    });
    expect(raw).toContain('\n\n\n\n'); // a keepalive went out while the pod was starting

    const seen = new Date(Date.now() + 10 * 60_000);
    seen.setUTCMilliseconds(0);
    const at = seen.toISOString();
    const activity = await hub.call('POST', `${api}/users/flo/activity`, {
      body: { last_activity: at, servers: { '': { last_activity: at } } },
    });
    expect(activity.status).toBe(200);
    const user = (await hub.call('GET', `${api}/users/flo`)).json as {
      last_activity: string;
      server: string;
      servers: Record<string, Json>;
    };
    expect(user.last_activity).toBe(at.replace('Z', '000Z'));
    expect(user.server).toBe('/user/flo/');
    expect(user.servers['']).toMatchObject({ ready: true, last_activity: at.replace('Z', '000Z') });

    expect((await hub.call('DELETE', `${api}/users/flo/server`)).status).toBe(204);
    const after = await hub.call('GET', `${api}/users/flo/server/progress`);
    expect(after.status).toBe(400);
    expect(after.json).toEqual({ status: 400, message: 'flo is not starting...' });
    expect(hub.running.sk.history('flo').map((e) => e.type)).toEqual(expect.arrayContaining(['server.start', 'server.stop']));
  });

  it('sends a single ready frame for a server that is already ready', async () => {
    await hub.call('POST', `${api}/users/rdy/servers/one`);
    await waitFor('rdy/one ready', () => (hub.running.sk.get('rdy', 'one')?.ready === true ? true : undefined));
    const { frames } = await readEvents(await progress('/users/rdy/servers/one/progress'));
    expect(frames).toEqual([
      {
        progress: 100,
        ready: true,
        message: 'Server ready at /user/rdy/one/',
        html_message: 'Server ready at <a href="/user/rdy/one/">/user/rdy/one/</a>',
        url: '/user/rdy/one/',
      },
    ]);
  });

  it('answers 404 for an unknown user or named server', async () => {
    expect((await hub.call('GET', `${api}/users/ghost/server/progress`)).status).toBe(404);
    expect((await hub.call('GET', `${api}/users/rdy/servers/none/progress`)).status).toBe(404);
  });

  it('streams the Warning events of a failing pod and ends with the failed frame', async () => {
    kubelet().failPod('jupyter-bad', { kind: 'imagePull' });
    await hub.call('POST', `${api}/users/bad/server`);
    const { frames } = await readEvents(await progress('/users/bad/server/progress'));
    expect(frames[0]).toEqual({ progress: 0, message: 'Server requested' });
    expect(frames.some((f) => String(f['message']).includes('[Warning]'))).toBe(true);
    const last = frames.at(-1);
    expect(last).toMatchObject({ progress: 100, failed: true });
    expect(String(last?.['message'])).toMatch(/^Spawn failed: .+/);
    await waitFor('bad failed', () => (hub.running.sk.get('bad')?.state === 'failed' ? true : undefined));
    const again = await readEvents(await progress('/users/bad/server/progress'));
    expect(again.frames).toHaveLength(1);
    expect(again.frames[0]).toMatchObject({ progress: 100, failed: true, message: expect.stringMatching(/^Spawn failed: /) });
  });

  it('ends the stream with "Spawn cancelled" when a stop cancels the spawn', async () => {
    kubelet().setDelays({ readyMs: 5_000 });
    try {
      await hub.call('POST', `${api}/users/can/server`);
      const res = await progress('/users/can/server/progress');
      const reading = readEvents(res);
      await hub.call('DELETE', `${api}/users/can/server`);
      const { frames } = await reading;
      expect(frames.at(-1)).toEqual({ progress: 100, failed: true, message: 'Spawn cancelled' });
    } finally {
      kubelet().setDelays({ readyMs: FAST_KUBELET.readyMs });
    }
  });

  it('follows a start queued behind a stop through to ready', async () => {
    await hub.call('POST', `${api}/users/que/server`);
    await waitFor('que ready', () => (hub.running.sk.get('que')?.ready === true ? true : undefined));
    kubelet().setDelays({ stopMs: 800 });
    try {
      const stop = hub.call('DELETE', `${api}/users/que/server`);
      await waitFor('que stopping', () => (hub.running.sk.get('que')?.pending === 'stop' ? true : undefined));
      expect((await hub.call('POST', `${api}/users/que/server`)).status).toBe(202);
      const { frames } = await readEvents(await progress('/users/que/server/progress'));
      expect(frames[0]).toEqual({ progress: 0, message: 'Server requested' });
      expect(frames.at(-1)).toMatchObject({ progress: 100, ready: true });
      await stop;
    } finally {
      kubelet().setDelays({ stopMs: FAST_KUBELET.stopMs });
    }
  });
});
