import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from './hub-helpers.js';
import { startTestHub } from './hub-helpers.js';

type Json = Record<string, unknown>;
const api = '/hub/api';

describe('hub groups API', () => {
  let hub: TestHub;
  const mint = async (user: string, scopes: string[]): Promise<string> => {
    const r = await hub.call('POST', `${api}/users/${user}/tokens`, { body: { scopes } });
    expect(r.status).toBe(201);
    return (r.json as { token: string }).token;
  };
  beforeAll(async () => {
    hub = await startTestHub();
    expect((await hub.call('POST', `${api}/users`, { body: { usernames: ['ada', 'ben', 'cy'] } })).status).toBe(201);
  });
  afterAll(() => hub.close());

  it('creates groups with members, lists and reads them, and refuses an existing one with 409', async () => {
    const made = await hub.call('POST', `${api}/groups`, { body: { groups: ['physics', 'maths'], users: ['ada', 'BEN'] } });
    expect(made.status).toBe(201);
    expect(made.json).toEqual([
      { kind: 'group', name: 'physics', roles: [], users: ['ada', 'ben'], properties: {} },
      { kind: 'group', name: 'maths', roles: [], users: ['ada', 'ben'], properties: {} },
    ]);
    expect((await hub.call('POST', `${api}/groups/physics`)).status).toBe(409);
    expect((await hub.call('POST', `${api}/groups`, { body: { groups: ['chem', 'maths'] } })).status).toBe(409);
    expect((await hub.call('GET', `${api}/groups/chem`)).status).toBe(404); // all or nothing
    const one = await hub.call('POST', `${api}/groups/chem`, { body: { users: ['cy'] } });
    expect(one.status).toBe(201);
    expect(((await hub.call('GET', `${api}/groups`)).json as Json[]).map((g) => g['name'])).toEqual(['physics', 'maths', 'chem']);
    expect((await hub.call('GET', `${api}/groups/maths`)).json).toMatchObject({ name: 'maths', users: ['ada', 'ben'] });
    expect(((await hub.call('GET', `${api}/users/ada`)).json as Json)['groups']).toEqual(['physics', 'maths']);
  });

  it('adds and removes members, sets properties, and deletes a group without touching its users', async () => {
    const added = await hub.call('POST', `${api}/groups/chem/users`, { body: { users: ['ada', 'cy'] } });
    expect(added.json).toMatchObject({ users: ['ada', 'cy'] });
    const removed = await hub.call('DELETE', `${api}/groups/chem/users`, { body: { users: ['cy', 'ben'] } });
    expect(removed.status).toBe(200);
    expect(removed.json).toMatchObject({ users: ['ada'] });
    const props = await hub.call('PUT', `${api}/groups/chem/properties`, { body: { course: 'CH1', seats: 30 } });
    expect(props.json).toMatchObject({ properties: { course: 'CH1', seats: 30 } });
    expect((await hub.call('DELETE', `${api}/groups/chem`)).status).toBe(204);
    expect((await hub.call('GET', `${api}/groups/chem`)).status).toBe(404);
    expect((await hub.call('GET', `${api}/users/ada`)).status).toBe(200);
  });

  it('refuses bad requests with 400 and changes nothing', async () => {
    const before = (await hub.call('GET', `${api}/groups/physics`)).json;
    const bad: Array<[string, string, unknown]> = [
      ['POST', `${api}/groups/physics/users`, { users: ['ada', 'nobody'] }],
      ['POST', `${api}/groups/physics/users`, {}],
      ['POST', `${api}/groups/physics/users`, { users: 'ada' }],
      ['POST', `${api}/groups/physics/users`, { users: [], colour: 'red' }],
      ['PUT', `${api}/groups/physics/properties`, undefined],
      ['PUT', `${api}/groups/physics/properties`, [1, 2]],
      ['POST', `${api}/groups`, { groups: [] }],
      ['POST', `${api}/groups`, { groups: ['a b'] }],
      ['POST', `${api}/groups/new`, { roles: ['admin'] }],
    ];
    for (const [method, path, body] of bad) {
      const r = await hub.call(method, path, body === undefined ? {} : { body });
      expect(`${method} ${path} ${JSON.stringify(body)}: ${r.status}`).toBe(`${method} ${path} ${JSON.stringify(body)}: 400`);
    }
    expect((await hub.call('GET', `${api}/groups/physics`)).json).toEqual(before);
    expect((await hub.call('GET', `${api}/groups/new`)).status).toBe(404);
  });

  it('honours !group= filters: a token for a group acts on its members only', async () => {
    const teacher = await mint('cy', [
      'servers!group=physics',
      'list:users!group=physics',
      'read:groups!group=physics',
      'list:groups!group=physics',
    ]);
    expect(((await hub.call('GET', `${api}/users`, { token: teacher })).json as Json[]).map((u) => u['name'])).toEqual(['ada', 'ben']);
    expect((await hub.call('POST', `${api}/users/ada/server`, { token: teacher })).status).toBe(201);
    expect((await hub.call('POST', `${api}/users/cy/server`, { token: teacher })).status).toBe(404);
    expect((await hub.call('DELETE', `${api}/users/ada/server`, { token: teacher })).status).toBe(204);
    expect(((await hub.call('GET', `${api}/groups`, { token: teacher })).json as Json[]).map((g) => g['name'])).toEqual(['physics']);
    expect((await hub.call('GET', `${api}/groups/maths`, { token: teacher })).status).toBe(404);
  });

  it("sets a user's groups with PATCH /users/{name}, each of which must exist", async () => {
    const r = await hub.call('PATCH', `${api}/users/cy`, { body: { groups: ['maths'] } });
    expect(r.status).toBe(200);
    expect((r.json as Json)['groups']).toEqual(['maths']);
    expect((await hub.call('PATCH', `${api}/users/cy`, { body: { groups: ['maths', 'nope'] } })).status).toBe(400);
    expect(((await hub.call('GET', `${api}/users/cy`)).json as Json)['groups']).toEqual(['maths']);
  });
});
