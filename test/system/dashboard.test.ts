import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestHub } from '../integration/hub-helpers.js';
import { ADMIN, FAST_KUBELET, startTestHub } from '../integration/hub-helpers.js';
import { CHROMIUM, need } from './tools.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const WAIT = { timeout: 15_000 };

/** launch starts headless Chromium (the CHROMIUM variable, else Debian's), or fails with what to install instead of skipping. */
async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: need(CHROMIUM),
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

// The dashboard, driven end to end in a real headless browser against a whole hub.
describe('the dashboard in headless Chromium', () => {
  let hub: TestHub;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let requests: Request[];
  let problems: string[];

  beforeAll(async () => {
    browser = await launch();
    // readyMs is long enough that the table is seen in spawn_pending before it turns running.
    hub = await startTestHub({
      host: '127.0.0.1',
      port: 0,
      slowSpawnTimeout: 0.05,
      sim: { seed: 7, kubelet: { ...FAST_KUBELET, readyMs: 2_000 } },
    });
  });
  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    requests = [];
    problems = [];
    page.on('request', (r) => requests.push(r));
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${new URL(r.url()).pathname}`);
    });
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
  });
  afterEach(async () => {
    await context?.close();
  });

  async function signIn(token: string): Promise<void> {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.goto(`${hub.url}/hub/dashboard`);
    await page.fill('#token', token);
    await page.click('#signin-form button[type=submit]');
  }

  it('shows a server start and become running live, with its timeline and the machine highlighted', async () => {
    await signIn(ADMIN);
    await page.waitForSelector('#main:not([hidden])', WAIT);
    await page.locator('#live', { hasText: /^live$/ }).waitFor(WAIT);
    await page.evaluate('window.sameDocument = true');

    expect((await hub.call('POST', '/hub/api/users/ada')).status).toBe(201);
    expect((await hub.call('POST', '/hub/api/users/ada/server')).status).toBe(202);

    const row = page.locator('#servers tbody tr[data-key="ada/"]');
    await row.locator('.state.spawn_pending').waitFor(WAIT);
    await row.click();
    await page.waitForSelector('#detail:not([hidden])', WAIT);
    await page.locator('#diagram .node.active[data-state="server.spawn_pending"]').waitFor(WAIT);
    expect(await row.locator('td.deadline .countdown').textContent()).toMatch(/^in \d/);
    await page.screenshot({ path: `${ARTIFACTS}dashboard-pending.png`, fullPage: true });

    await row.locator('.state.running').waitFor(WAIT);
    expect(await page.evaluate('window.sameDocument')).toBe(true);
    expect(requests.filter((r) => r.resourceType() === 'document')).toHaveLength(1);

    const timeline = page.locator('#timeline tbody tr');
    await timeline
      .filter({ hasText: /→ running\.ready$/ })
      .first()
      .waitFor(WAIT);
    const events = await page.locator('#timeline tbody td.event').allTextContents();
    expect(events[0]).toBe('server.start');
    const states = await page.locator('#timeline tbody td.transition').allTextContents();
    expect(states[0]).toMatch(/^stopped → spawn_pending\.\S+$/);
    expect(states).toContainEqual(expect.stringMatching(/^spawn_pending\.\S+ → running\.ready$/));

    const active = await Promise.all((await page.locator('#diagram .node.active').all()).map((n) => n.getAttribute('data-state')));
    expect(active).toEqual(['server.running', 'server.running.ready']);
    expect(await page.locator('#diagram .node.current').getAttribute('data-state')).toBe('server.running.ready');
    expect(await row.locator('td.deadline').textContent()).toBe('—');

    // The token travels only in the Authorization header, never in a URL.
    expect(requests.length).toBeGreaterThan(3);
    for (const r of requests) expect(r.url()).not.toContain(ADMIN);
    const apiCalls = requests.filter((r) => new URL(r.url()).pathname.startsWith('/hub/api/'));
    expect(apiCalls.length).toBeGreaterThan(0);
    for (const r of apiCalls) expect((await r.allHeaders())['authorization']).toBe(`token ${ADMIN}`);

    await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });
    expect(problems).toEqual([]);
  });

  // Regression: the dashboard API once checked only the scope's name, so a user's `self` token saw every user's servers.
  it("shows a user's own token only that user's servers", async () => {
    for (const user of ['eve', 'fay']) {
      expect((await hub.call('POST', `/hub/api/users/${user}`)).status).toBe(201);
      expect((await hub.call('POST', `/hub/api/users/${user}/server`)).status).toBe(202);
    }
    const minted = await hub.call('POST', '/hub/api/users/fay/tokens', { body: {} });
    expect(minted.status).toBe(201);
    const token = (minted.json as { token: string }).token;

    await signIn(token);
    await page.locator('#servers tbody tr[data-key="fay/"]').waitFor(WAIT);
    expect(await page.locator('#servers tbody tr').count()).toBe(1);
    expect(await page.textContent('#servers')).not.toContain('eve');
    expect((await hub.call('GET', '/hub/api/spawnkeeper/servers', { token })).json).toMatchObject({ servers: [{ key: 'fay/' }] });
    // A token holding the scope only for fay learns nothing of eve: 404, as JupyterHub answers.
    expect((await hub.call('GET', '/hub/api/spawnkeeper/history/eve', { token })).status).toBe(404);
  });

  it('shows the sign-in error and no data for a wrong token', async () => {
    await signIn('not-the-admin-token');
    await page.locator('#signin-error', { hasText: /\S/ }).waitFor(WAIT);
    expect(await page.textContent('#signin-error')).toMatch(/not valid/);
    expect(await page.isHidden('#main')).toBe(true);
    expect(await page.locator('#servers tbody tr').count()).toBe(0);
    expect(await page.evaluate("sessionStorage.getItem('spawnkeeper.token')")).toBeNull();
    for (const r of requests) expect(r.url()).not.toContain('not-the-admin-token');
  });
});
