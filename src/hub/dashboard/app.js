// The spawnkeeper dashboard: a table of servers kept live by a server-sent-event stream read with
// fetch (so the admin token travels in a header, never in a URL), a timeline per server, and the
// machine drawn as nested states with the current one highlighted. No framework, no network.
'use strict';
/* global el, setText, duration, clockTime, leaf, eventLabel, transition, sameEvent, countdown, tickCountdown */

const TOKEN_KEY = 'spawnkeeper.token';
const TOPS = ['running', 'spawn_pending', 'stop_pending', 'stopped', 'failed'];
const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  generation: 0,
  abort: null,
  lastFrame: 0,
  skew: 0,
  live: 'offline',
  machine: null,
  health: null,
  servers: new Map(),
  rows: new Map(),
  filter: '',
  selected: null,
  history: [],
  expanded: new Set(),
  loading: false,
  stale: false,
};
const $ = (id) => document.getElementById(id);
/** now is the hub's clock as the stream last told it, so times in state match the hub's. */
const now = () => Date.now() + state.skew;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function api(path, init = {}) {
  return fetch(path, { ...init, cache: 'no-store', headers: { ...(init.headers || {}), Authorization: `token ${state.token}` } });
}

const step = (s) => s.detail.slice(s.state.length + 1);
const badge = (top) => el('span', `state ${top}`, top);

function rowFor(s) {
  let tr = state.rows.get(s.key);
  if (tr) return tr;
  tr = el('tr');
  tr.dataset.key = s.key;
  tr.tabIndex = 0;
  for (const c of ['user', 'server', 'top', 'step', 'since', 'deadline', 'note']) tr.append(el('td', c));
  tr.cells[5].append(countdown());
  tr.addEventListener('click', () => void select(s.key));
  tr.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      void select(s.key);
    }
  });
  state.rows.set(s.key, tr);
  return tr;
}

function tickRow(tr, s, t) {
  setText(tr.cells[4], duration(t - s.since));
  tickCountdown(tr.cells[5].firstChild, s, t);
}

function fillRow(tr, s, t) {
  const [user, server, top, sub, , , note] = tr.cells;
  user.textContent = s.user;
  server.textContent = s.name || '(default)';
  server.classList.toggle('muted', !s.name);
  if (top.dataset.state !== s.state) {
    top.replaceChildren(badge(s.state));
    top.dataset.state = s.state;
  }
  sub.textContent = step(s) || '—';
  tr.cells[4].title = `since ${new Date(s.since).toLocaleString()}`;
  note.textContent = [s.reason, s.startQueued ? 'start queued after the stop' : ''].filter(Boolean).join(' · ');
  tr.classList.toggle('selected', s.key === state.selected);
  tickRow(tr, s, t);
}

function renderServers() {
  const t = now();
  const all = [...state.servers.values()].sort((a, b) => a.key.localeCompare(b.key));
  const f = state.filter;
  const shown = all.filter((s) => !f || `${s.user} ${s.name} ${s.detail}`.toLowerCase().includes(f));
  for (const key of state.rows.keys()) if (!state.servers.has(key)) state.rows.delete(key);
  const rows = shown.map((s) => {
    const tr = rowFor(s);
    fillRow(tr, s, t);
    return tr;
  });
  const body = $('servers').tBodies[0];
  if (rows.length !== body.rows.length || rows.some((tr, i) => body.rows[i] !== tr)) body.replaceChildren(...rows);
  $('count').textContent = f ? `${shown.length} of ${all.length}` : String(all.length);
  $('empty').hidden = shown.length > 0;
  $('empty').textContent = all.length ? 'No server matches the filter.' : 'No servers yet: they appear here the moment one is started.';
  $('totals').replaceChildren(
    ...TOPS.map((top) => {
      const n = all.filter((s) => s.state === top).length;
      return el('span', `total state ${top}${n ? '' : ' none'}`, `${n} ${top}`);
    }),
  );
}

/** renderAlerts says, above everything, when what the page shows may be stale; it runs on every tick. */
function renderAlerts() {
  const alerts = [];
  const h = state.health;
  if (h && !h.healthy) {
    const since = h.lastSuccessAt
      ? `the last successful list or watch was ${duration(now() - h.lastSuccessAt)} ago`
      : 'no list or watch has succeeded yet';
    alerts.push(
      `The pod reflector is unhealthy${h.lastError ? `: ${h.lastError}` : ''}. ${since[0].toUpperCase()}${since.slice(1)}; states shown may lag the cluster.`,
    );
  }
  if (state.live === 'reconnecting…') alerts.push('Lost the live stream from the hub; reconnecting. States shown may be stale.');
  const box = $('alerts');
  if (box.dataset.text === alerts.join('\n')) return;
  box.dataset.text = alerts.join('\n');
  box.replaceChildren(...alerts.map((text) => el('p', 'alert', text)));
}

function renderHealth(h) {
  state.health = h;
  const b = $('health');
  const warn = !h.synced || h.restarts > 0;
  b.className = `badge ${h.healthy ? (warn ? 'warn' : 'ok') : 'bad'}`;
  b.textContent = `reflector ${h.activity}${h.restarts ? ` · ${h.restarts} restart${h.restarts === 1 ? '' : 's'}` : ''}`;
  b.title = [
    h.synced ? 'synced' : 'not synced yet',
    h.lastSuccessAt ? `last success ${duration(now() - h.lastSuccessAt)} ago` : 'no success yet',
    h.lastError ? `last error: ${h.lastError}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  renderAlerts();
}

function setLive(live) {
  state.live = live;
  $('live').textContent = live;
  $('live').className = `badge ${live === 'live' ? 'ok' : live === 'offline' ? 'offline' : 'warn'}`;
  renderAlerts();
}

/** pathIds are the state ids a dotted state path passes through, outermost first. */
function pathIds(path) {
  const parts = path.split('.');
  return parts.map((_, i) => `${state.machine.id}.${parts.slice(0, i + 1).join('.')}`);
}

function drawNode(node, ctx) {
  const div = el('div', 'node');
  div.dataset.state = node.id;
  for (const [cls, on] of [
    ['compound', node.children.length > 0],
    ['active', ctx.active.has(node.id)],
    ['current', ctx.current === node.id],
    ['visited', ctx.visited.has(node.id)],
  ]) {
    if (on) div.classList.add(cls);
  }
  const head = el('div', 'head');
  head.append(el('span', 'name', node.key));
  if (node.stable) head.append(el('span', 'tag', 'stable'));
  div.append(head);
  for (const a of node.after) {
    const ms = state.machine.delays[a.delay];
    const line = el('div', 'timeout', `after ${a.delay}${ms ? ` ${duration(ms, true)}` : ''}${a.target ? ` → ${leaf(a.target)}` : ''}`);
    const armed = ctx.timers.find((t) => t.state === node.id && t.delay === a.delay);
    if (armed) {
      line.classList.add('armed');
      const left = el('span', 'left');
      left.dataset.due = String(armed.dueAt);
      line.append(left);
    }
    div.append(line);
  }
  if (node.children.length) {
    const kids = el('div', 'children');
    kids.append(...node.children.map((c) => drawNode(c, ctx)));
    div.append(kids);
  }
  return div;
}

function renderDiagram() {
  const s = state.servers.get(state.selected);
  if (!state.machine || !s) return;
  const active = pathIds(s.detail);
  const visited = new Set(state.history.flatMap((h) => [...pathIds(h.from), ...pathIds(h.to)]));
  const ctx = { active: new Set(active), current: active[active.length - 1], visited, timers: s.timers || [] };
  $('diagram').replaceChildren(...state.machine.children.map((c) => drawNode(c, ctx)));
  tickDetail();
}

function renderFacts() {
  const s = state.servers.get(state.selected);
  if (!s) return;
  const fact = (label, ...value) => {
    const pair = el('div');
    const dd = el('dd');
    dd.append(...value);
    pair.append(el('dt', '', label), dd);
    return [pair];
  };
  const topLine = [badge(s.state)];
  if (step(s)) topLine.push(el('span', 'step', ` ${step(s)}`));
  $('facts').replaceChildren(
    ...fact('State', ...topLine),
    ...fact('In state', el('span', 'since')),
    ...fact('Deadline', countdown(), ...(s.timeout ? [el('span', 'muted', s.timeout)] : [])),
    ...fact('Pod', el('code', '', s.podName || '—')),
    ...fact('Events', String(s.seq)),
    ...(s.reason || s.startQueued
      ? fact('Note', [s.reason, s.startQueued ? 'start queued after the stop' : ''].filter(Boolean).join(' · '))
      : []),
  );
  tickDetail();
}

function tickDetail() {
  const s = state.servers.get(state.selected);
  if (!s) return;
  const t = now();
  const since = $('facts').querySelector('.since');
  if (since) setText(since, duration(t - s.since));
  const deadline = $('facts').querySelector('.deadline-box');
  if (deadline) tickCountdown(deadline, s, t);
  for (const left of $('diagram').querySelectorAll('[data-due]')) {
    const ms = Number(left.dataset.due) - t;
    setText(left, ms >= 0 ? ` · ${duration(ms, true)} left` : ' · due');
  }
}

function historyRow(h, t0) {
  const tr = el('tr', h.from.split('.')[0] === h.to.split('.')[0] ? '' : 'change');
  const time = el('td', 'time', clockTime(h.at));
  time.append(el('span', 'muted', ` +${duration(h.at - t0, true)}`));
  time.title = new Date(h.at).toISOString();
  const event = el('td', `event${h.type.startsWith('xstate.after.') ? ' timer' : ''}`, eventLabel(h.type));
  event.title = h.type;
  tr.append(el('td', 'seq', String(h.seq)), time, event, el('td', 'what', h.summary), el('td', 'transition', transition(h.from, h.to)));
  return tr;
}

/** renderTimeline folds runs of repeated events (a pending state's poll loop) into one row that opens on click. */
function renderTimeline() {
  const hist = state.history;
  const t0 = hist.length ? hist[0].at : 0;
  const repeat = hist.map((h, i) => sameEvent(hist[i - 1], h) || sameEvent(hist[i - 2], h));
  const rows = [];
  for (let i = 0; i < hist.length;) {
    let j = i;
    while (j < hist.length && repeat[j]) j++;
    if (j - i >= 2) {
      const id = `${state.selected}#${hist[i].seq}`;
      const open = state.expanded.has(id);
      const kinds = [...new Set(hist.slice(i, j).map((h) => eventLabel(h.type)))].join(' / ');
      const fold = el('tr', 'fold');
      const td = el(
        'td',
        '',
        `${open ? '▾' : '▸'} ${j - i} repeated events (${kinds}), #${hist[i].seq}–${hist[j - 1].seq}: ${open ? 'hide' : 'show'}`,
      );
      td.colSpan = 5;
      fold.append(td);
      fold.addEventListener('click', () => {
        if (open) state.expanded.delete(id);
        else state.expanded.add(id);
        renderTimeline();
      });
      rows.push(fold);
      if (open)
        rows.push(
          ...hist.slice(i, j).map((h) => {
            const tr = historyRow(h, t0);
            tr.classList.add('repeat');
            return tr;
          }),
        );
      i = j;
    } else {
      rows.push(historyRow(hist[i], t0));
      i += 1;
    }
  }
  $('timeline').tBodies[0].replaceChildren(...rows);
  $('timeline-count').textContent = `${hist.length} event${hist.length === 1 ? '' : 's'}`;
}

/** loadHistory fetches the selected server's timeline; changes during a fetch trigger one more. */
async function loadHistory() {
  if (state.loading) {
    state.stale = true;
    return;
  }
  state.loading = true;
  try {
    do {
      state.stale = false;
      const key = state.selected;
      if (!key) return;
      const slash = key.indexOf('/');
      const [user, server] = [key.slice(0, slash), key.slice(slash + 1)];
      const res = await api(`/hub/api/spawnkeeper/history/${encodeURIComponent(user)}${server ? `/${encodeURIComponent(server)}` : ''}`);
      if (!res.ok) return;
      const { history } = await res.json();
      if (state.selected !== key) continue;
      state.history = history;
      renderTimeline();
      renderDiagram();
    } while (state.stale);
  } finally {
    state.loading = false;
  }
}

function select(key) {
  if (state.selected !== key) {
    state.history = [];
    state.expanded.clear();
    renderTimeline();
  }
  state.selected = key;
  $('detail').hidden = key === null;
  if (key === null) {
    renderServers();
    return Promise.resolve();
  }
  const slash = key.indexOf('/');
  $('detail-key').textContent = slash === key.length - 1 ? `${key.slice(0, slash)} (default server)` : key;
  renderServers();
  renderFacts();
  renderDiagram();
  return loadHistory();
}

function onFrame(event, payload) {
  if (event === 'clock') state.skew = payload.now - Date.now();
  if (event === 'health') renderHealth(payload);
  if (event === 'servers') {
    state.servers = new Map(payload.map((s) => [s.key, s]));
    if (state.selected && !state.servers.has(state.selected)) void select(null);
    renderServers();
    if (state.selected) {
      renderFacts();
      renderDiagram();
      void loadHistory();
    }
  }
  if (event === 'server') {
    state.servers.set(payload.key, payload);
    renderServers();
    if (payload.key === state.selected) {
      renderFacts();
      renderDiagram();
      void loadHistory();
    }
  }
}

async function readStream(body, generation) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done || generation !== state.generation) return;
    state.lastFrame = Date.now();
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (event && data) onFrame(event, JSON.parse(data));
    }
  }
}

/** listen keeps the stream open, reconnecting with backoff, until sign-out starts a new generation. */
async function listen(generation) {
  let backoff = 500;
  while (generation === state.generation) {
    try {
      state.abort = new AbortController();
      const res = await api('/hub/api/spawnkeeper/stream', { signal: state.abort.signal });
      if (res.status === 401 || res.status === 403) return signOut('That token is no longer valid for the dashboard.');
      if (!res.ok || !res.body) throw new Error(`the hub answered ${res.status}`);
      state.lastFrame = Date.now();
      setLive('live');
      backoff = 500;
      await readStream(res.body, generation);
    } catch {
      // the stream broke or was cut by the watchdog; reconnect below
    }
    if (generation !== state.generation) return;
    setLive('reconnecting…');
    await sleep(backoff);
    backoff = Math.min(backoff * 2, 10_000);
  }
}

async function signIn(token) {
  const generation = ++state.generation;
  state.token = token;
  let res;
  try {
    res = await api('/hub/api/spawnkeeper/machine');
  } catch {
    return signOut('Cannot reach the hub.');
  }
  if (generation !== state.generation) return;
  if (!res.ok)
    return signOut(
      res.status === 401 || res.status === 403
        ? 'That token is not valid for the dashboard (it needs read:servers).'
        : `The hub answered ${res.status}.`,
    );
  state.machine = await res.json();
  sessionStorage.setItem(TOKEN_KEY, token);
  $('signin').hidden = true;
  $('main').hidden = false;
  $('signout').hidden = false;
  $('signin-error').textContent = '';
  void listen(generation);
}

function signOut(message) {
  state.generation += 1;
  state.abort?.abort();
  state.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  state.servers = new Map();
  state.rows = new Map();
  state.health = null;
  void select(null);
  $('servers').tBodies[0].replaceChildren();
  $('health').className = 'badge unknown';
  $('health').textContent = 'reflector ?';
  setLive('offline');
  $('signin').hidden = false;
  $('main').hidden = true;
  $('signout').hidden = true;
  $('signin-error').textContent = message || '';
  $('token').focus();
}

/** tick moves the clocks on the page and cuts a stream that has been silent past three keepalives. */
function tick() {
  if (state.live === 'live' && Date.now() - state.lastFrame > 16_000) state.abort?.abort();
  const t = now();
  for (const tr of $('servers').tBodies[0].rows) {
    const s = state.servers.get(tr.dataset.key);
    if (s) tickRow(tr, s, t);
  }
  tickDetail();
  renderAlerts();
}

$('signin-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const button = $('signin-form').querySelector('button');
  button.disabled = true;
  void signIn($('token').value.trim()).finally(() => {
    button.disabled = false;
  });
});
$('signout').addEventListener('click', () => {
  $('token').value = '';
  signOut();
});
$('close').addEventListener('click', () => void select(null));
$('filter').addEventListener('input', () => {
  state.filter = $('filter').value.trim().toLowerCase();
  renderServers();
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && state.selected) void select(null);
});
setInterval(tick, 250);
if (state.token) void signIn(state.token);
