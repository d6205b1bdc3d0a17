"""Drives a baton cluster with the Python `marathon` client (PyPI 0.13.0), as existing tools do.

Usage: driver.py URL[,URL...]   (the nodes' REST base URLs)

Apps, tasks, deployments, the queue, leader, info and the event stream, through the client's own
models (which refuse unknown JSON keys, so every answer is checked for Marathon's exact shape).
Prints `EVENT ...` lines and `MARATHON PYTHON OK`; exits non-zero with `FAILED: ...` otherwise.
"""

import json
import os
import sys
import threading
import time

from marathon import MarathonClient
from marathon.exceptions import MarathonHttpError, NotFoundError
from marathon.models import MarathonApp

STEP_TIMEOUT = 40


def fail(message):
    print("FAILED: %s" % message, flush=True)
    os._exit(1)


def wait_for(what, predicate):
    deadline = time.time() + STEP_TIMEOUT
    last = None
    while time.time() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except (MarathonHttpError, NotFoundError) as e:
            last = e
        time.sleep(0.2)
    fail("timed out waiting for %s (last: %r)" % (what, last))


def running_ids(client, app_id):
    return sorted(t.id for t in client.list_tasks(app_id) if t.state == "TASK_RUNNING")


def main():
    if len(sys.argv) != 2:
        fail("usage: driver.py URL[,URL...]")
    client = MarathonClient(sys.argv[1].split(","))

    info = client.get_info()
    print("EVENT info name=%s leader=%s" % (info.name, info.leader), flush=True)
    leader = client.get_leader()
    if not leader:
        fail("no leader")

    # The event stream, followed from the start.
    seen = []

    def follow():
        try:
            for event in client.event_stream(
                event_types=["api_post_event", "deployment_info", "deployment_success"]
            ):
                seen.append(event.event_type)
        except Exception as e:  # noqa: BLE001 - reported below if events are missing
            seen.append("error: %r" % e)

    threading.Thread(target=follow, daemon=True).start()
    time.sleep(1)

    app = client.create_app(
        "/py/web", MarathonApp(cmd="sleep 1000", cpus=0.1, mem=16, instances=2)
    )
    if app.id != "/py/web":
        fail("create_app answered %r" % app.id)
    wait_for("two running tasks", lambda: len(running_ids(client, "/py/web")) == 2)
    got = client.get_app("/py/web")
    if got.tasks_running != 2 or len(got.tasks) != 2:
        fail("get_app: %d running, %d tasks" % (got.tasks_running, len(got.tasks)))
    listed = client.list_apps(embed_tasks=True, embed_counts=True, embed_deployments=True)
    if [a.id for a in listed] != ["/py/web"]:
        fail("list_apps: %r" % [a.id for a in listed])
    wait_for("the creation to finish", lambda: client.list_deployments() == [])
    print("EVENT created running=2", flush=True)

    client.scale_app("/py/web", instances=3)
    wait_for("three running tasks", lambda: len(running_ids(client, "/py/web")) == 3)
    wait_for("no deployments", lambda: client.list_deployments() == [])
    print("EVENT scaled running=3", flush=True)

    victim = running_ids(client, "/py/web")[0]
    client.kill_task("/py/web", victim)
    wait_for(
        "the killed task to be replaced",
        lambda: (lambda ids: len(ids) == 3 and victim not in ids)(running_ids(client, "/py/web")),
    )
    print("EVENT killed and replaced", flush=True)

    victim = running_ids(client, "/py/web")[0]
    client.kill_given_tasks([victim], scale=True)
    wait_for("a scale-down to two", lambda: client.get_app("/py/web").instances == 2)
    wait_for("two running tasks", lambda: len(running_ids(client, "/py/web")) == 2)
    wait_for("the scale-down to finish", lambda: client.list_deployments() == [])
    print("EVENT killed with scale running=2", flush=True)

    before = running_ids(client, "/py/web")
    client.restart_app("/py/web")
    wait_for(
        "a restart with new tasks",
        lambda: (lambda ids: len(ids) == 2 and not set(ids) & set(before))(
            running_ids(client, "/py/web")
        ),
    )
    wait_for("the restart to finish", lambda: client.list_deployments() == [])
    versions = client.list_versions("/py/web")
    if len(versions) < 3:
        fail("expected at least 3 versions, got %r" % versions)
    print("EVENT restarted versions=%d" % len(versions), flush=True)

    # An app too big for any agent waits in the queue with its reasons.
    client.create_app("/py/huge", MarathonApp(cmd="sleep 1000", cpus=0.1, mem=1000000, instances=1))
    item = wait_for(
        "the queue to list /py/huge",
        lambda: next((q for q in client.list_queue() if q.app.id == "/py/huge"), None),
    )
    print("EVENT queued count=%d" % item.count, flush=True)
    deployments = client.list_deployments()
    if not any("/py/huge" in d.affected_apps for d in deployments):
        fail("the stuck deployment is not listed: %r" % deployments)
    client.delete_deployment(deployments[0].id, force=True)
    client.delete_app("/py/huge", force=True)

    client.delete_app("/py/web")
    wait_for("the app to be gone", lambda: "/py/web" not in [a.id for a in client.list_apps()])
    try:
        client.get_app("/py/web")
        fail("get_app of a deleted app succeeded")
    except NotFoundError:
        pass

    wait_for(
        "api_post_event and deployment events",
        lambda: "api_post_event" in seen and "deployment_success" in seen,
    )
    errors = [e for e in seen if e.startswith("error")]
    if errors:
        fail("the event stream failed: %s" % errors[0])
    print("EVENT events %s" % json.dumps(sorted(set(seen))), flush=True)
    print("MARATHON PYTHON OK", flush=True)
    os._exit(0)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - any exception is a failure
        fail("%s: %s" % (type(e).__name__, e))
