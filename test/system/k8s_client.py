"""Drive the Python Kubernetes client (Debian's python3-kubernetes) against a server.

Usage: python3 k8s_client.py URL SCENARIO

Each scenario does what a user's program would do and prints what it observed as one JSON object;
the system tests (test/system/python-client.test.ts) judge the observations. Nothing here asserts.
"""
import json
import sys
import time

from kubernetes import client, watch
from kubernetes.client.rest import ApiException

NS = "default"


def api(url):
    config = client.Configuration()
    config.host = url
    return client.CoreV1Api(client.ApiClient(config))


def pod(name, labels):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
            "spec": {"containers": [{"name": "notebook", "image": "jupyter/base-notebook:2024.1"}]}}


def error(call):
    """The status and reason of the ApiException a call raises, or None when it succeeds."""
    try:
        call()
    except ApiException as e:
        body = json.loads(e.body) if e.body else {}
        return {"status": e.status, "reason": body.get("reason", e.reason)}
    return None


def wait_gone(read):
    for _ in range(200):
        if error(read) is not None:
            return True
        time.sleep(0.05)
    return False


def crud(v1):
    made = v1.create_namespaced_pod(NS, pod("py1", {"app": "py"}))
    duplicate = error(lambda: v1.create_namespaced_pod(NS, pod("py1", {"app": "py"})))
    read = v1.read_namespaced_pod("py1", NS)
    v1.create_namespaced_pod(NS, pod("py2", {"app": "other"}))
    selected = [p.metadata.name for p in v1.list_namespaced_pod(NS, label_selector="app=py").items]
    not_selected = [p.metadata.name for p in v1.list_namespaced_pod(NS, label_selector="app!=py").items]
    deleted = v1.delete_namespaced_pod("py1", NS)
    gone = wait_gone(lambda: v1.read_namespaced_pod("py1", NS))
    return {"uid": made.metadata.uid, "readUid": read.metadata.uid, "phase": made.status.phase,
            "duplicate": duplicate, "selected": selected, "notSelected": not_selected,
            "deletedHasTimestamp": deleted.metadata.deletion_timestamp is not None, "gone": gone,
            "afterDelete": error(lambda: v1.read_namespaced_pod("py1", NS))}


def pages(v1):
    for i in range(5):
        v1.create_namespaced_pod(NS, pod("page-%d" % i, {"app": "page"}))
    names, token, calls, versions = [], None, 0, set()
    while True:
        kwargs = {"label_selector": "app=page", "limit": 2}
        if token:
            kwargs["_continue"] = token
        page = v1.list_namespaced_pod(NS, **kwargs)
        calls += 1
        versions.add(page.metadata.resource_version)
        names += [p.metadata.name for p in page.items]
        token = page.metadata._continue
        if not token:
            break
    return {"names": names, "calls": calls, "versions": len(versions)}


def watch_delete(v1):
    rv = v1.list_namespaced_pod(NS).metadata.resource_version
    v1.create_namespaced_pod(NS, pod("watched", {"app": "watched"}))
    # Only a pod bound to a node is deleted gracefully; one not yet scheduled goes at once, as in Kubernetes.
    for _ in range(200):
        if v1.read_namespaced_pod("watched", NS).spec.node_name:
            break
        time.sleep(0.025)
    v1.delete_namespaced_pod("watched", NS)
    seen = []
    w = watch.Watch()
    for event in w.stream(v1.list_namespaced_pod, NS, resource_version=rv, label_selector="app=watched", timeout_seconds=10):
        obj = event["object"]
        seen.append({"type": event["type"], "name": obj.metadata.name,
                     "deletionTimestamp": obj.metadata.deletion_timestamp is not None})
        if event["type"] == "DELETED":
            w.stop()
    return {"events": seen}


def watch_initial(v1):
    v1.create_namespaced_pod(NS, pod("first", {"app": "initial"}))
    seen = []
    w = watch.Watch()
    for event in w.stream(v1.list_namespaced_pod, NS, label_selector="app=initial", timeout_seconds=10):
        seen.append({"type": event["type"], "name": event["object"].metadata.name})
        if len(seen) == 1:
            v1.create_namespaced_pod(NS, pod("second", {"app": "initial"}))
        if seen[-1] == {"type": "ADDED", "name": "second"}:
            w.stop()
    return {"events": seen}


def expired(v1):
    w = watch.Watch()
    try:
        for _ in w.stream(v1.list_namespaced_pod, NS, resource_version="1", timeout_seconds=5):
            pass
    except ApiException as e:
        return {"status": e.status, "reason": e.reason}
    return {"status": None}


def objects(v1):
    out = {}
    v1.create_namespaced_secret(NS, {"metadata": {"name": "py-secret", "labels": {"app": "py"}}, "stringData": {"token": "abc"}})
    out["secretData"] = v1.read_namespaced_secret("py-secret", NS).data
    out["secretDuplicate"] = error(lambda: v1.create_namespaced_secret(NS, {"metadata": {"name": "py-secret"}}))
    claim = client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name="py-claim", labels={"app": "py"}),
        spec=client.V1PersistentVolumeClaimSpec(access_modes=["ReadWriteOnce"], resources=client.V1ResourceRequirements(requests={"storage": "1Gi"})))
    out["claimPhase"] = v1.create_namespaced_persistent_volume_claim(NS, claim).status.phase
    svc = client.V1Service(metadata=client.V1ObjectMeta(name="py-svc", labels={"app": "py"}),
                           spec=client.V1ServiceSpec(selector={"app": "py"}, ports=[client.V1ServicePort(port=80, target_port=8888)]))
    out["clusterIP"] = v1.create_namespaced_service(NS, svc).spec.cluster_ip
    out["invalid"] = error(lambda: v1.create_namespaced_service(NS, {"metadata": {"name": "no-ports"}, "spec": {}}))
    out["listed"] = sorted([s.metadata.name for s in v1.list_namespaced_secret(NS, label_selector="app=py").items]
                           + [c.metadata.name for c in v1.list_namespaced_persistent_volume_claim(NS, label_selector="app=py").items]
                           + [s.metadata.name for s in v1.list_namespaced_service(NS, label_selector="app=py").items])
    rv = v1.list_namespaced_service(NS).metadata.resource_version
    v1.delete_namespaced_service("py-svc", NS)
    seen = []
    w = watch.Watch()
    for event in w.stream(v1.list_namespaced_service, NS, resource_version=rv, timeout_seconds=5):
        seen.append(event["type"])
        w.stop()
    out["serviceWatch"] = seen
    v1.delete_namespaced_secret("py-secret", NS)
    v1.delete_namespaced_persistent_volume_claim("py-claim", NS)
    out["afterDelete"] = [error(lambda: v1.read_namespaced_secret("py-secret", NS)),
                          error(lambda: v1.read_namespaced_persistent_volume_claim("py-claim", NS)),
                          error(lambda: v1.read_namespaced_service("py-svc", NS))]
    return out


SCENARIOS = {"crud": crud, "pages": pages, "watch-delete": watch_delete, "watch-initial": watch_initial,
             "expired": expired, "objects": objects}

if __name__ == "__main__":
    print(json.dumps(SCENARIOS[sys.argv[2]](api(sys.argv[1])), default=str))
