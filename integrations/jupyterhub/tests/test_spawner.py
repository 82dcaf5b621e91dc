"""SpawnkeeperSpawner against a real spawnkeeper process (embedded simulator, process kubelet): no mocks."""

import asyncio
import json
import re
import socket
import urllib.error
import urllib.request

import pytest
from conftest import make_spawner
from tornado import web


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as res:
            return res.status, json.loads(res.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, None


def refused(url):
    try:
        urllib.request.urlopen(url, timeout=5)
    except urllib.error.URLError as err:
        return isinstance(err.reason, ConnectionRefusedError)
    return False


async def start_following(spawner):
    """start() with progress() read alongside, as JupyterHub's progress page does."""
    events = []

    async def read():
        await asyncio.sleep(0.05)
        async for event in spawner.progress():
            events.append(event)

    reader = asyncio.ensure_future(read())
    url = await spawner.start()
    await asyncio.wait_for(reader, 10)
    return url, events


def test_start_returns_the_address_of_a_real_server_that_answers_with_the_env_jupyterhub_gave(spawnkeeper):
    async def go():
        spawner = make_spawner(spawnkeeper, "alice")
        url, events = await start_following(spawner)
        # the pod's address: a loopback address of its own and the declared port
        assert re.fullmatch(r"http://127\.\d+\.\d+\.\d+:8888", url)
        status, body = get(f"{url}/user/alice/api/status")
        assert status == 200
        assert body["user"] == "alice"
        assert await spawner.poll() is None
        await spawner.stop()
        assert await spawner.poll() == 0
        assert refused(f"{url}/user/alice/api/status")

    asyncio.run(go())


def test_a_new_spawner_after_a_jupyterhub_restart_picks_up_the_running_server_from_spawnkeeper(spawnkeeper):
    async def go():
        first = make_spawner(spawnkeeper, "bob")
        url = await first.start()
        state = first.get_state()
        # JupyterHub restarted: a new Spawner object, loaded with whatever state JupyterHub kept.
        second = make_spawner(spawnkeeper, "bob")
        second.load_state(state)
        assert await second.poll() is None
        assert await second.start() == url
        assert get(f"{url}/user/bob/api/status")[0] == 200
        await second.stop()
        assert await first.poll() == 0

    asyncio.run(go())


def test_user_options_and_a_named_server_reach_spawnkeeper_and_the_env_stays_out_of_the_model(spawnkeeper):
    async def go():
        spawner = make_spawner(spawnkeeper, "carol", server_name="lab", mem_limit=512 * 1024 * 1024, cpu_limit=1.5)
        spawner.user_options = {"profile": "", "note": "from the form"}
        url = await spawner.start()
        assert get(f"{url}/user/carol/lab/api/status")[0] == 200
        status, user = spawnkeeper.api("GET", "/users/carol")
        assert status == 200
        assert "lab" in user["servers"], json.dumps(user)[:2000]
        server = user["servers"]["lab"]
        assert server["user_options"].get("note") == "from the form"
        assert "jupyterhub-api-token-for-carol" not in json.dumps(user)
        await spawner.stop()

    asyncio.run(go())


def test_a_token_without_the_scopes_gives_an_error_that_names_the_scopes_to_grant(spawnkeeper):
    async def go():
        spawner = make_spawner(spawnkeeper, "dave")
        spawner.spawnkeeper_token = "x" * 64
        with pytest.raises(web.HTTPError) as caught:
            await spawner.start()
        assert caught.value.status_code == 500
        assert "admin:servers" in caught.value.log_message

    asyncio.run(go())


def test_an_unreachable_spawnkeeper_is_a_503_that_says_so_and_poll_does_not_give_the_server_up(spawnkeeper):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]

    async def go():
        spawner = make_spawner(spawnkeeper, "erin")
        spawner.spawnkeeper_url = f"http://127.0.0.1:{closed}"
        with pytest.raises(web.HTTPError) as caught:
            await spawner.start()
        assert caught.value.status_code == 503
        assert "not reachable" in caught.value.log_message
        assert await spawner.poll() is None

    asyncio.run(go())


def test_stop_of_a_server_spawnkeeper_never_started_returns_and_poll_says_stopped(spawnkeeper):
    async def go():
        spawner = make_spawner(spawnkeeper, "frank")
        assert await spawner.poll() == 0
        await spawner.stop()
        assert await spawner.poll() == 0

    asyncio.run(go())


def test_the_profile_in_user_options_picks_a_spawnkeeper_profile_and_an_unknown_one_is_a_400_naming_the_valid_ones(spawnkeeper_with):
    profiles = [
        {"slug": "small", "display_name": "Small", "default": True, "overrides": {"env": {"SIZE": "small"}}},
        {"slug": "large", "display_name": "Large", "overrides": {"env": {"SIZE": "large"}}},
    ]
    sk = spawnkeeper_with(extra={"profiles": profiles})

    async def go():
        spawner = make_spawner(sk, "gina")
        spawner.user_options = {"profile": "huge"}
        with pytest.raises(web.HTTPError) as caught:
            await spawner.start()
        assert caught.value.status_code == 400
        assert "small, large" in caught.value.log_message
        spawner.user_options = {"profile": "large"}
        url = await spawner.start()
        assert get(f"{url}/user/gina/api/status")[0] == 200
        status, user = sk.api("GET", "/users/gina")
        assert user["servers"][""]["user_options"] == {"profile": "large"}
        await spawner.stop()

    asyncio.run(go())


def test_a_slow_start_follows_spawnkeepers_progress_stream_and_progress_yields_the_pods_events(spawnkeeper_with):
    # The image "pulls" for 2.5 s and spawnkeeper answers 202 after 0.1 s: start() must follow the stream.
    sk = spawnkeeper_with(kubelet={"readyMs": 2500}, extra={"slow_spawn_timeout": 0.1})

    async def go():
        spawner = make_spawner(sk, "hank")
        url, events = await start_following(spawner)
        assert get(f"{url}/user/hank/api/status")[0] == 200
        messages = [e["message"] for e in events]
        assert any("[Normal] Pulling image" in m for m in messages), messages
        assert any("[Normal] Started container" in m for m in messages), messages
        assert "Server requested" not in messages  # JupyterHub sends its own first frame
        assert all(isinstance(e.get("progress"), int) and 0 <= e["progress"] < 100 for e in events if "progress" in e)
        await spawner.stop()

    asyncio.run(go())


def test_a_stop_spawnkeeper_cannot_take_yet_is_asked_again_until_it_is_accepted_and_done(spawnkeeper):
    import os
    import signal

    async def go():
        spawner = make_spawner(spawnkeeper, "ivy", spawnkeeper_request_timeout=1)
        url = await spawner.start()
        os.kill(spawnkeeper.proc.pid, signal.SIGSTOP)  # spawnkeeper hangs: every call times out
        try:
            stopping = asyncio.ensure_future(spawner.stop())
            await asyncio.sleep(2.5)
            assert not stopping.done()
        finally:
            os.kill(spawnkeeper.proc.pid, signal.SIGCONT)
        await asyncio.wait_for(stopping, 30)
        assert await spawner.poll() == 0
        assert refused(f"{url}/user/ivy/api/status")

    asyncio.run(go())
