"""Fixtures: a real spawnkeeper hub process (the repository's bin, embedded simulator, process kubelet)."""

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class SpawnkeeperProcess:
    """`spawnkeeper serve` as a child process on a free port, with a service token for JupyterHub."""

    def __init__(self, workdir, kubelet=None, extra=None):
        self.workdir = Path(workdir)
        self.token = secrets.token_hex(32)
        self.admin_token = secrets.token_hex(32)
        self.config = {
            "port": 0,
            "db": str(self.workdir / "spawnkeeper.db"),
            "admin_token": self.admin_token,
            "slow_spawn_timeout": 2,
            "slow_stop_timeout": 2,
            "log_format": "json",
            "log_level": "warn",
            "services": [{"name": "jupyterhub", "api_token": self.token}],
            "load_roles": [
                {"name": "jupyterhub", "scopes": ["admin:servers", "admin:users", "list:users"], "services": ["jupyterhub"]}
            ],
            "sim_kubelet": "process",
            "sim": {"kubelet": {"scheduleMs": 20, "createMs": 20, "readyMs": 20, **(kubelet or {})}},
        }
        self.config.update(extra or {})
        self.proc = None
        self.url = None

    def start(self):
        path = self.workdir / "spawnkeeper.json"
        path.write_text(json.dumps(self.config))
        self.log = open(self.workdir / "spawnkeeper.log", "ab")
        node = shutil.which("node") or "node"
        self.proc = subprocess.Popen(
            [node, str(ROOT / "bin" / "spawnkeeper.mjs"), "serve", "--config", str(path)],
            cwd=str(self.workdir),
            stdout=subprocess.PIPE,
            stderr=self.log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                raise RuntimeError(f"spawnkeeper exited ({self.proc.wait()}); see {self.workdir / 'spawnkeeper.log'}")
            m = re.search(r"REST API at (http://\S+)/hub/api", line)
            if m:
                self.url = m.group(1)
                # keep reading its output (the log) into the file, so the pipe never fills and stalls it
                threading.Thread(target=self._drain, daemon=True).start()
                return self
        raise RuntimeError("spawnkeeper did not print its URL within 60 s")

    def _drain(self):
        for line in iter(self.proc.stdout.readline, b""):
            self.log.write(line)
            self.log.flush()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def api(self, method, path, body=None, token=None):
        """A plain call to spawnkeeper's API (urllib), for the tests' own checks."""
        import urllib.error
        import urllib.request

        req = urllib.request.Request(
            f"{self.url}/hub/api{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {token or self.admin_token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                text = res.read()
                return res.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as err:
            text = err.read()
            return err.code, (json.loads(text) if text else None)


@pytest.fixture
def spawnkeeper(tmp_path):
    sk = SpawnkeeperProcess(tmp_path).start()
    yield sk
    sk.stop()


@pytest.fixture
def spawnkeeper_with(tmp_path):
    """Starts a spawnkeeper with its own settings (SpawnkeeperProcess's arguments); stopped after the test."""
    started = []

    def start(**settings):
        sk = SpawnkeeperProcess(tmp_path, **settings).start()
        started.append(sk)
        return sk

    yield start
    for sk in started:
        sk.stop()


def make_spawner(sk, name="alice", server_name="", **traits):
    """A SpawnkeeperSpawner as JupyterHub builds one, for a user JupyterHub knows (name, url)."""
    from jupyterhub import orm
    from jupyterhub.objects import Hub
    from spawnkeeper_spawner import SpawnkeeperSpawner

    prefix = f"/user/{name}/" + (f"{server_name}/" if server_name else "")
    user = SimpleNamespace(name=name, escaped_name=name, url=f"/user/{name}/")
    hub = Hub(ip="127.0.0.1", port=8081, base_url="/hub/")
    spawner = SpawnkeeperSpawner(
        user=user,
        # JupyterHub's own records of the server: name and URL prefix come from them
        orm_spawner=orm.Spawner(name=server_name, server=orm.Server(proto="http", ip="", port=0, base_url=prefix, cookie_name="jupyterhub-user")),
        hub=hub,
        api_token="jupyterhub-api-token-for-" + name,
        oauth_client_id=f"jupyterhub-user-{name}",
        spawnkeeper_url=sk.url,
        spawnkeeper_token=sk.token,
        spawnkeeper_poll_interval=0.2,
        **traits,
    )
    return spawner
