"""Drives baton's groups with the Python `marathon` client (PyPI 0.13.0), whose models refuse
unknown JSON keys: create_group, list_groups, get_group, scale_group, update_group,
rollback_group and delete_group.

Usage: groups.py URL[,URL...]   (the nodes' REST base URLs)

Prints `EVENT ...` lines and `MARATHON PYTHON GROUPS OK`; exits non-zero with `FAILED: ...`.
"""

import os
import sys
import threading
import time

from marathon import MarathonClient
from marathon.exceptions import MarathonHttpError, NotFoundError
from marathon.models import MarathonApp, MarathonGroup

STEP_TIMEOUT = 60


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


def running(client, app_id):
    return len([t for t in client.list_tasks(app_id) if t.state == "TASK_RUNNING"])


def app(app_id, **kwargs):
    return MarathonApp(id=app_id, cmd="sleep 1000", cpus=0.1, mem=16, instances=1, **kwargs)


def settled(client):
    return client.list_deployments() == []


def main():
    if len(sys.argv) != 2:
        fail("usage: groups.py URL[,URL...]")
    client = MarathonClient(sys.argv[1].split(","))

    # Group changes on the event stream, as the client's models parse them.
    changes = []

    def follow():
        try:
            for event in client.event_stream(event_types=["group_change_success"]):
                changes.append(event.group_id)
        except Exception as e:  # noqa: BLE001 - reported below if events are missing
            changes.append("error: %r" % e)

    threading.Thread(target=follow, daemon=True).start()
    time.sleep(1)

    group = MarathonGroup(
        id="/pyg",
        apps=[app("/pyg/web", dependencies=["/pyg/back"])],
        groups=[MarathonGroup(id="/pyg/back", apps=[app("/pyg/back/db")])],
    )
    created = client.create_group(group)
    if not created.get("deploymentId"):
        fail("create_group answered %r" % created)
    wait_for("web and db running", lambda: running(client, "/pyg/web") == 1
             and running(client, "/pyg/back/db") == 1)
    wait_for("the creation to finish", lambda: settled(client))
    print("EVENT created", flush=True)

    listed = client.list_groups()
    if [g.id for g in listed] != ["/pyg"]:
        fail("list_groups: %r" % [g.id for g in listed])
    got = client.get_group("/pyg")
    if [a.id for a in got.apps] != ["/pyg/web"] or [g.id for g in got.groups] != ["/pyg/back"]:
        fail("get_group: apps %r groups %r" % ([a.id for a in got.apps], [g.id for g in got.groups]))
    if [a.id for a in got.groups[0].apps] != ["/pyg/back/db"]:
        fail("get_group: nested apps %r" % [a.id for a in got.groups[0].apps])
    print("EVENT listed", flush=True)

    client.scale_group("/pyg", 2)
    wait_for("two of each", lambda: running(client, "/pyg/web") == 2
             and running(client, "/pyg/back/db") == 2)
    wait_for("the scale to finish", lambda: settled(client))
    print("EVENT scaled", flush=True)

    # update_group sends back what get_group gave (response fields and all), plus a new app.
    current = client.get_group("/pyg")
    current.apps.append(app("/pyg/extra"))
    client.update_group("/pyg", current)
    wait_for("the extra app running", lambda: running(client, "/pyg/extra") == 1)
    wait_for("the update to finish", lambda: settled(client))
    if client.get_app("/pyg/web").instances != 2:
        fail("update_group changed web")
    print("EVENT updated", flush=True)

    versions = client._do_request("GET", "/v2/groups/pyg/versions").json()
    if len(versions) != 3:
        fail("expected 3 group versions, got %r" % versions)
    client.rollback_group("/pyg", versions[-1])
    wait_for("the first version back", lambda: [a.id for a in client.get_group("/pyg").apps]
             == ["/pyg/web"] and client.get_app("/pyg/web").instances == 1)
    wait_for("the rollback to finish", lambda: settled(client)
             and running(client, "/pyg/web") == 1)
    print("EVENT rolled back", flush=True)

    client.delete_group("/pyg")
    wait_for("every app gone", lambda: client.list_apps() == [])
    try:
        client.get_group("/pyg")
        fail("get_group of a deleted group succeeded")
    except NotFoundError:
        pass
    print("EVENT deleted", flush=True)

    # create, scale, update, rollback, delete: one change each, all of /pyg.
    wait_for("five group changes", lambda: len(changes) >= 5)
    if set(changes) != {"/pyg"}:
        fail("group_change_success events: %r" % changes)
    print("EVENT group changes %d" % len(changes), flush=True)
    print("MARATHON PYTHON GROUPS OK", flush=True)
    os._exit(0)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - any exception is a failure
        fail("%s: %s" % (type(e).__name__, e))
