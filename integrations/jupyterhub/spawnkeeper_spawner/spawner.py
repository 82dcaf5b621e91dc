"""SpawnkeeperSpawner: JupyterHub keeps login, proxy and UI; spawnkeeper runs each server's lifecycle.

Every call goes to spawnkeeper's JupyterHub-style REST API with a service token. spawnkeeper is the
source of truth for whether a server runs: the spawner keeps no state of its own beyond what it can
ask again, so after a JupyterHub restart ``poll()`` and ``start()`` pick up where spawnkeeper stands.
"""

import asyncio
import json
import os
import time
from urllib.parse import quote

from jupyterhub.spawner import Spawner
from jupyterhub.traitlets import Command
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from traitlets import Float, Integer, Unicode, default

# The server states of spawnkeeper's model (`servers[name].spawnkeeper.state`) that mean "not running".
_OVER = ("stopped", "failed")


class SpawnkeeperError(Exception):
    """A call to spawnkeeper failed: it could not be reached, timed out, or answered an error."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def _describe(err, url):
    """A message a person can act on, for a call that did not get an HTTP answer."""
    text = str(err)
    if isinstance(err, (ConnectionRefusedError, OSError)) and "refused" in text.lower():
        return f"spawnkeeper is not reachable at {url} (connection refused): is it running, and is spawnkeeper_url right?"
    if "timeout" in text.lower() or isinstance(err, asyncio.TimeoutError):
        return f"spawnkeeper at {url} did not answer in time ({text})"
    return f"spawnkeeper at {url} could not be reached: {text}"


class SpawnkeeperSpawner(Spawner):
    """A Spawner that asks a spawnkeeper service to start, stop and watch the user's server.

    Three lines of ``jupyterhub_config.py``::

        c.JupyterHub.spawner_class = "spawnkeeper"
        c.SpawnkeeperSpawner.spawnkeeper_url = "http://127.0.0.1:8081"
        # and SPAWNKEEPER_API_TOKEN in JupyterHub's environment
    """

    spawnkeeper_url = Unicode(
        "http://127.0.0.1:8081",
        help="Base URL of the spawnkeeper service (its REST API is under /hub/api).",
    ).tag(config=True)

    spawnkeeper_token = Unicode(
        help="""A spawnkeeper token with the scopes admin:servers and admin:users (a service's api_token).

        Default: the environment variable SPAWNKEEPER_API_TOKEN.""",
    ).tag(config=True)

    @default("spawnkeeper_token")
    def _default_token(self):
        return os.environ.get("SPAWNKEEPER_API_TOKEN", "")

    spawnkeeper_request_timeout = Float(
        30,
        help="Seconds one HTTP call to spawnkeeper may take (spawnkeeper answers a start or stop within its slow_spawn_timeout).",
    ).tag(config=True)

    spawnkeeper_stop_timeout = Float(
        60,
        help="""Seconds stop() waits for spawnkeeper to report the server stopped.

        spawnkeeper has committed the stop before it answers, and finishes it on its own (a later start
        is queued behind it), so stop() returns after this long even if the stop is still under way:
        JupyterHub never stays 'in the process of stopping' on spawnkeeper's account.""",
    ).tag(config=True)

    spawnkeeper_poll_interval = Float(1, help="Seconds between reads of the server's state while waiting.").tag(config=True)

    cmd = Command(
        None,
        allow_none=True,
        minlen=0,
        help="""The command of the server's container; None (the default, as KubeSpawner's) runs the image's own.

        Set ['jupyterhub-singleuser'] for an image whose command is not the single-user server.""",
    ).tag(config=True)

    @default("port")
    def _default_port(self):
        return 8888

    @default("ip")
    def _default_ip(self):
        return "0.0.0.0"

    # ---- HTTP -------------------------------------------------------------------------------

    def _api(self, path):
        return self.spawnkeeper_url.rstrip("/") + "/hub/api" + path

    def _server_path(self):
        user = quote(self.user.name, safe="")
        if self.name:
            return f"/users/{user}/servers/{quote(self.name, safe='')}"
        return f"/users/{user}/server"

    async def _call(self, method, path, body=None, timeout=None):
        """One call to spawnkeeper: (status, parsed JSON or None). Errors raise SpawnkeeperError."""
        url = self._api(path)
        if not self.spawnkeeper_token:
            raise SpawnkeeperError(0, "SpawnkeeperSpawner has no token: set SPAWNKEEPER_API_TOKEN or c.SpawnkeeperSpawner.spawnkeeper_token")
        req = HTTPRequest(
            url,
            method=method,
            headers={"Authorization": f"token {self.spawnkeeper_token}", "Content-Type": "application/json", "Accept": "application/json"},
            body=None if body is None else json.dumps(body),
            allow_nonstandard_methods=True,
            request_timeout=timeout or self.spawnkeeper_request_timeout,
            connect_timeout=min(10, timeout or self.spawnkeeper_request_timeout),
        )
        try:
            res = await AsyncHTTPClient().fetch(req, raise_error=False)
        except Exception as err:  # connection refused, DNS, timeouts before any answer
            raise SpawnkeeperError(0, _describe(err, self.spawnkeeper_url)) from err
        if res.code == 599:
            raise SpawnkeeperError(0, _describe(res.error or "no answer", self.spawnkeeper_url))
        data = None
        if res.body:
            try:
                data = json.loads(res.body)
            except ValueError:
                data = None
        if res.code >= 400:
            message = data.get("message") if isinstance(data, dict) else None
            raise SpawnkeeperError(res.code, message or f"spawnkeeper answered {res.code} to {method} {path}")
        return res.code, data

    async def _model(self):
        """The server's model in spawnkeeper, or None when it has no active or recorded server."""
        _, user = await self._call("GET", f"/users/{quote(self.user.name, safe='')}?include_stopped_servers=1")
        return (user or {}).get("servers", {}).get(self.name or "")

    async def _ensure_user(self):
        try:
            await self._call("POST", f"/users/{quote(self.user.name, safe='')}", {})
        except SpawnkeeperError as err:
            if err.status != 409:
                raise

    # ---- the request body ------------------------------------------------------------------

    def _resources(self):
        out = {}
        for key in ("cpu_limit", "cpu_guarantee", "mem_limit", "mem_guarantee"):
            value = getattr(self, key, None)
            if value:
                out[key] = value
        return out

    def _start_body(self):
        body = dict(self.user_options or {})
        args = list(self.cmd or []) + list(self.get_args())
        body["spawnkeeper"] = {
            "env": {k: str(v) for k, v in self.get_env().items()},
            "resources": self._resources(),
            "port": self.port,
        }
        if args:
            body["spawnkeeper"]["args"] = args
        return body

    # ---- lifecycle -------------------------------------------------------------------------

    def _reset_progress(self):
        self._events = []
        self._events_changed = asyncio.Event()
        self._following = True

    def _emit(self, event):
        self._events.append(event)
        self._events_changed.set()

    def _address(self, model):
        info = (model or {}).get("spawnkeeper") or {}
        ip, port = info.get("ip"), info.get("port")
        if not ip or not port:
            raise web.HTTPError(500, f"spawnkeeper reports {self._log_name} ready but gives no address (ip {ip!r}, port {port!r})")
        return f"http://{ip}:{int(port)}"

    async def start(self):
        """Ask spawnkeeper to start the server, follow its progress, and return the server's URL."""
        self._reset_progress()
        try:
            return await self._start()
        finally:
            self._following = False
            self._events_changed.set()

    async def _start(self):
        body = self._start_body()
        try:
            try:
                status, model = await self._call("POST", self._server_path(), body)
            except SpawnkeeperError as err:
                if err.status != 404 or "server named" in err.message:
                    raise
                await self._ensure_user()  # JupyterHub knows the user; spawnkeeper learns of it now
                status, model = await self._call("POST", self._server_path(), body)
        except SpawnkeeperError as err:
            if err.status == 400 and "already running" in err.message:
                model = await self._model()  # after a JupyterHub restart: spawnkeeper's server runs on
                return self._address(model)
            raise self._http_error(err, "start") from err
        if status == 201 and model and model.get("ready"):
            return self._address(model)
        return await self._follow()

    async def _follow(self):
        """Read the progress stream to its final frame; when it breaks, read the model instead."""
        url = self._api(self._server_path() + "/progress")
        while True:
            final = await self._read_stream(url)
            if final is not None and final.get("failed"):
                raise web.HTTPError(500, final.get("message") or "Spawn failed")
            try:
                model = await self._model()
            except SpawnkeeperError as err:
                self.log.warning("spawnkeeper: cannot read %s while it starts: %s", self._log_name, err.message)
                await asyncio.sleep(self.spawnkeeper_poll_interval)
                continue
            info = (model or {}).get("spawnkeeper") or {}
            if model and model.get("ready"):
                return self._address(model)
            if model is None or info.get("state") in _OVER:
                reason = info.get("reason") or "it was stopped"
                raise web.HTTPError(500, f"Spawn failed: {reason}")
            await asyncio.sleep(self.spawnkeeper_poll_interval)

    async def _read_stream(self, url):
        """Stream the progress frames into progress(); return the final frame, or None if the stream broke."""
        final = None
        buffer = b""

        def on_chunk(chunk):
            nonlocal buffer, final
            buffer += chunk
            while b"\n\n" in buffer:
                frame, buffer = buffer.split(b"\n\n", 1)
                for line in frame.decode("utf8", "replace").splitlines():
                    if not line.startswith("data:"):
                        continue
                    try:
                        event = json.loads(line[5:])
                    except ValueError:
                        continue
                    if event.get("ready") or event.get("failed"):
                        final = event
                    elif event.get("progress") == 0:
                        continue  # "Server requested": JupyterHub's progress page begins with its own
                    else:
                        self._emit({k: event[k] for k in ("progress", "message", "html_message") if k in event})

        req = HTTPRequest(
            url,
            headers={"Authorization": f"token {self.spawnkeeper_token}", "Accept": "text/event-stream"},
            streaming_callback=on_chunk,
            request_timeout=max(self.start_timeout, 60),
            connect_timeout=10,
        )
        try:
            await AsyncHTTPClient().fetch(req, raise_error=False)
        except Exception as err:
            self.log.debug("spawnkeeper progress stream of %s ended: %s", self._log_name, err)
        return final

    async def progress(self):
        """Yield spawnkeeper's progress frames (Kubernetes events of the pod) while start() follows them."""
        if not hasattr(self, "_events"):
            return
        seen = 0
        while True:
            while seen < len(self._events):
                yield self._events[seen]
                seen += 1
            if not self._following:
                return
            self._events_changed.clear()
            await self._events_changed.wait()

    async def stop(self, now=False):
        """Ask spawnkeeper to stop the server and wait (at most spawnkeeper_stop_timeout) until it has.

        JupyterHub forgets the server when stop() returns or raises, so a stop spawnkeeper could not be
        told of is asked again (unreachable, 5xx) until it is accepted or the time is up.
        """
        deadline = time.monotonic() + self.spawnkeeper_stop_timeout
        while True:
            try:
                status, _ = await self._call("DELETE", self._server_path())
                break
            except SpawnkeeperError as err:
                if err.status == 404:
                    return  # spawnkeeper has no such server: nothing runs
                if (err.status == 0 or err.status >= 500) and time.monotonic() < deadline:
                    self.log.warning("spawnkeeper: stop of %s not accepted yet (%s); asking again", self._log_name, err.message)
                    await asyncio.sleep(self.spawnkeeper_poll_interval)
                    continue
                raise self._http_error(err, "stop") from err
        if status == 204:
            return
        while time.monotonic() < deadline:
            await asyncio.sleep(self.spawnkeeper_poll_interval)
            try:
                model = await self._model()
            except SpawnkeeperError as err:
                self.log.warning("spawnkeeper: cannot read %s while it stops: %s", self._log_name, err.message)
                continue
            if model is None or ((model.get("spawnkeeper") or {}).get("state") in _OVER):
                return
        self.log.warning(
            "spawnkeeper is still stopping %s after %ss; it finishes the stop on its own",
            self._log_name,
            self.spawnkeeper_stop_timeout,
        )

    async def poll(self):
        """None while spawnkeeper has the server starting or running; an exit status once it is not."""
        try:
            model = await self._model()
        except SpawnkeeperError as err:
            if err.status == 404:
                return 0  # spawnkeeper does not know the user: nothing runs
            # Unknown is not stopped: a server is never given up because spawnkeeper could not be asked.
            self.log.warning("spawnkeeper: cannot poll %s: %s", self._log_name, err.message)
            return None
        if model is None:
            return 0
        state = (model.get("spawnkeeper") or {}).get("state")
        if model.get("ready") or state in ("spawn_pending", "running"):
            return None
        return 1 if state == "failed" else 0

    # State: none of its own. spawnkeeper is asked where the server stands (poll, start), so Spawner's
    # get_state/load_state (which keep nothing here) are enough after a JupyterHub restart.

    # ---- errors ----------------------------------------------------------------------------

    def _http_error(self, err, what):
        """The web.HTTPError JupyterHub shows the user, with a message they can act on."""
        if err.status == 429:
            return web.HTTPError(429, f"spawnkeeper is busy: {err.message}")
        if err.status == 0:
            return web.HTTPError(503, f"Cannot {what} your server: {err.message}")
        if err.status in (401, 403):
            return web.HTTPError(
                500,
                f"Cannot {what} your server: spawnkeeper refused JupyterHub's token ({err.status} {err.message}); "
                "the administrator must give the token the admin:servers and admin:users scopes",
            )
        if err.status == 400:
            return web.HTTPError(400, f"Cannot {what} your server: {err.message}")
        return web.HTTPError(500, f"Cannot {what} your server: spawnkeeper answered {err.status}: {err.message}")
