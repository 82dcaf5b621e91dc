// The spawnkeeper dashboard: a table of servers kept live by a server-sent-event stream read with
// fetch (so the admin token travels in a header, never in a URL), a timeline per server, and the
// machine drawn as nested states with the current one highlighted. No framework, no network.
'use strict';

const state = { token: sessionStorage.getItem('spawnkeeper.token'), servers: new Map(), selected: null, machine: null, abort: null };
const $ = (id) => document.getElementById(id);

function api(path, init = {}) {
  return fetch(path, { ...init, headers: { ...(init.headers || {}), Authorization: `token ${state.token}` } });
}

function ago(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

function cell(text, cls) {
  const td = document.createElement('td');
  if (cls) {
    const span = document.createElement('span');
    span.className = cls;
    span.textContent = text;
    td.append(span);
  } else td.textContent = text;
  return td;
}

function renderServers() {
  const body = $('servers').tBodies[0];
  const rows = [...state.servers.values()].sort((a, b) => a.key.localeCompare(b.key));
  body.replaceChildren(...rows.map((s) => {
    const tr = document.createElement('tr');
    tr.dataset.key = s.key;
    if (s.key === state.selected) tr.className = 'selected';
    const now = Date.now();
    tr.append(
      cell(s.user), cell(s.name || '(default)'), cell(s.state, `state ${s.state}`), cell(s.detail),
      cell(ago(now - s.since)), cell(s.deadline ? `in ${ago(s.deadline - now)}` : ''), cell(s.reason || (s.startQueued ? 'start queued' : '')),
    );
    tr.addEventListener('click', () => select(s.key));
    return tr;
  }));
  $('count').textContent = `(${rows.length})`;
}

function renderHealth(h) {
  const el = $('health');
  el.className = `health ${h.healthy ? 'healthy' : 'unhealthy'}`;
  el.textContent = `reflector: ${h.activity}${h.healthy ? '' : ' (unhealthy)'}`;
  el.title = h.lastError || `restarts: ${h.restarts}`;
}

function drawNode(node, active) {
  const div = document.createElement('div');
  div.className = `node${node.children.length ? ' compound' : ''}${active.has(node.id) ? ' active' : ''}`;
  div.dataset.state = node.id;
  const name = document.createElement('div');
  name.className = 'name';
  name.textContent = node.key;
  div.append(name);
  if (node.stable) div.insertAdjacentHTML('beforeend', '<span class="stable">stable</span>');
  for (const t of node.timeouts) {
    const span = document.createElement('span');
    span.className = 'timeout';
    span.textContent = ` ⏱ ${t}`;
    div.append(span);
  }
  for (const child of node.children) div.append(drawNode(child, active));
  return div;
}

function renderDiagram() {
  const s = state.servers.get(state.selected);
  if (!state.machine || !s) return;
  const parts = s.detail.split('.');
  const active = new Set(parts.map((_, i) => `server.${parts.slice(0, i + 1).join('.')}`));
  $('diagram').replaceChildren(...state.machine.children.map((c) => drawNode(c, active)));
}

async function select(key) {
  state.selected = key;
  $('detail').hidden = false;
  $('detail-key').textContent = key;
  renderServers();
  renderDiagram();
  const [user, server] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
  const res = await api(`/hub/api/spawnkeeper/history/${encodeURIComponent(user)}${server ? `/${encodeURIComponent(server)}` : ''}`);
  if (!res.ok || state.selected !== key) return;
  const { history } = await res.json();
  $('timeline').tBodies[0].replaceChildren(...history.map((h) => {
    const tr = document.createElement('tr');
    tr.append(cell(String(h.seq)), cell(new Date(h.at).toLocaleTimeString()), cell(h.type), cell(h.summary), cell(`${h.from} → ${h.to}`));
    return tr;
  }));
}

async function listen() {
  state.abort = new AbortController();
  const res = await api('/hub/api/spawnkeeper/stream', { signal: state.abort.signal });
  if (res.status === 401 || res.status === 403) return signOut('That token is not valid for the dashboard (it needs read:servers).');
  $('live').textContent = 'live';
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (!event || !data) continue;
      const payload = JSON.parse(data);
      if (event === 'servers') { state.servers = new Map(payload.map((s) => [s.key, s])); renderServers(); }
      if (event === 'server') {
        state.servers.set(payload.key, payload);
        renderServers();
        if (payload.key === state.selected) { renderDiagram(); void select(payload.key); }
      }
      if (event === 'health') renderHealth(payload);
    }
  }
  $('live').textContent = 'reconnecting…';
  setTimeout(() => { if (state.token) void listen().catch(() => undefined); }, 1000);
}

async function start() {
  const res = await api('/hub/api/spawnkeeper/machine');
  if (!res.ok) return signOut(res.status === 401 || res.status === 403 ? 'That token is not valid for the dashboard (it needs read:servers).' : `The hub answered ${res.status}.`);
  state.machine = await res.json();
  $('signin').hidden = true;
  $('main').hidden = false;
  $('signout').hidden = false;
  void listen().catch(() => { $('live').textContent = 'offline'; });
}

function signOut(message) {
  state.abort?.abort();
  state.token = null;
  sessionStorage.removeItem('spawnkeeper.token');
  $('signin').hidden = false;
  $('main').hidden = true;
  $('signout').hidden = true;
  $('signin-error').textContent = message || '';
}

$('signin-form').addEventListener('submit', (e) => {
  e.preventDefault();
  state.token = $('token').value.trim();
  sessionStorage.setItem('spawnkeeper.token', state.token);
  void start();
});
$('signout').addEventListener('click', () => signOut());
setInterval(renderServers, 1000);
if (state.token) void start();
