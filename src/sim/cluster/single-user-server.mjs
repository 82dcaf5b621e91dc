#!/usr/bin/env node
// The process kubelet's built-in single-user server, run when no command is configured: it stands in
// for jupyterhub-singleuser where Jupyter is not installed. It listens on POD_IP (or --ip, else
// 127.0.0.1) at PORT (or --port, else 8888), serves JUPYTERHUB_SERVICE_PREFIX (default /): `{prefix}api/status` answers 200 JSON, the
// prefix itself a short page; SIGTERM closes it and exits 0. No dependencies: plain Node.
/* global process, console, URL, setInterval */
import { createServer } from 'node:http';

const flag = (name) => {
  const args = process.argv.slice(2);
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  return args[i].includes('=') ? args[i].slice(args[i].indexOf('=') + 1) : args[i + 1];
};

const port = Number(flag('port') ?? process.env.PORT ?? '8888');
const ip = flag('ip') ?? process.env.POD_IP ?? '127.0.0.1';
// JupyterHub's prefix when it gave one; else any `/user/<name>/` (a start through spawnkeeper's own API).
const given = process.env.JUPYTERHUB_SERVICE_PREFIX;
const prefixOf = (path) => {
  if (given !== undefined) return given.endsWith('/') ? given : `${given}/`;
  return /^\/user\/[^/]+\//.exec(path)?.[0] ?? '/';
};
const user = process.env.JUPYTERHUB_USER ?? '';
const started = new Date().toISOString();
let lastActivity = started;

const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const prefix = prefixOf(`${path}/`);
  lastActivity = new Date().toISOString();
  if (path === `${prefix}api/status` || path === `${prefix}api`) {
    const body = JSON.stringify({
      started,
      last_activity: lastActivity,
      connections: 0,
      kernels: 0,
      server: 'spawnkeeper built-in',
      user,
      pid: process.pid,
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  } else if (path === prefix || path === prefix.slice(0, -1) || path.startsWith(`${prefix}lab`) || path.startsWith(`${prefix}tree`)) {
    const who = user.replace(/[^A-Za-z0-9._@-]/g, '');
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(
        `<!doctype html><title>${who}'s server</title><h1 id="server">${who}'s server is running</h1><p>spawnkeeper built-in single-user server</p>`,
      );
  } else {
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'not found', path }));
  }
});

server.listen(port, ip, () => console.log(`built-in single-user server listening on http://${ip}:${port}${given ?? '/'}`));
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// A pod process must not outlive the simulator that started it: when the parent goes (even killed
// with SIGKILL) this process is handed to another parent, and it exits.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) stop();
}, 500).unref();
