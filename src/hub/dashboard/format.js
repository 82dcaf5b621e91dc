// Formatting and small DOM helpers for the dashboard's app.js: no state, no network. Loaded first,
// as a classic script, so its names are globals of the page.
'use strict';
/* exported el, setText, duration, clockTime, leaf, eventLabel, transition, sameEvent, countdown, tickCountdown */

const pad = (n, w = 2) => String(n).padStart(w, '0');

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** setText changes a node's text only when it differs, so the page's frequent tick does not churn the DOM. */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** duration says a span of time for people; `fine` keeps tenths below ten seconds. */
function duration(ms, fine = false) {
  const s = Math.max(0, ms) / 1000;
  if (s < 10 && fine) return `${s.toFixed(1)} s`;
  if (s < 120) return `${Math.floor(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m} min ${pad(Math.floor(s % 60))} s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h} h ${pad(m % 60)} min` : `${Math.floor(h / 24)} d ${h % 24} h`;
}

function clockTime(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** leaf is the last name of a state id: `server.spawn_pending.timed_out` → `timed_out`. */
const leaf = (id) => id.slice(id.lastIndexOf('.') + 1);

/** eventLabel shortens a timer's event type (`xstate.after.<delay>.<state>`) to the delay's name. */
function eventLabel(type) {
  return type.startsWith('xstate.after.') ? `after ${type.split('.')[2]}` : type;
}

/** transition says a step's states, naming a shared top-level state once. */
function transition(from, to) {
  if (from === to) return `stays ${to}`;
  const [a, b] = [from.split('.'), to.split('.')];
  if (a[0] !== b[0]) return `${from} → ${to}`;
  return `${a[0]}: ${a.slice(1).join('.') || '·'} → ${b.slice(1).join('.') || '·'}`;
}

/** sameEvent tells whether two timeline entries say the same thing (a poll loop repeats itself). */
const sameEvent = (a, b) => a !== undefined && a.type === b.type && a.summary === b.summary && a.from === b.from && a.to === b.to;

/** countdown is an empty countdown to a pending state's own timeout; tickCountdown fills it in. */
function countdown() {
  const box = el('span', 'deadline-box');
  const meter = el('span', 'meter');
  meter.append(el('span'));
  box.append(el('span', 'countdown'), meter);
  return box;
}

/** tickCountdown shows the time left, amber in the timeout's last quarter and red once overdue. */
function tickCountdown(box, s, t) {
  const [text, meter] = box.children;
  meter.hidden = !s.deadline;
  if (!s.deadline) {
    text.className = 'countdown none';
    setText(text, '—');
    return;
  }
  const left = s.deadline - t;
  const total = Math.max(1, s.deadline - s.since);
  text.className = `countdown${left < 0 ? ' overdue' : left < total / 4 ? ' soon' : ''}`;
  setText(text, left < 0 ? `overdue ${duration(-left)}` : `in ${duration(left, true)}`);
  text.title = `${s.timeout || 'the timeout'} fires at ${clockTime(s.deadline)}`;
  meter.firstChild.style.width = `${Math.min(100, Math.max(0, (100 * (t - s.since)) / total)).toFixed(1)}%`;
}
