#!/usr/bin/env python3
"""pymesos 0.3.15 drives `baton mesos-local` as a real framework would.

Usage: driver.py HOST:PORT

1. A fresh framework registers, gets an offer and launches two command tasks on it: `echo-1`
   (runs to TASK_FINISHED) and `sleep-1` (killed once running: TASK_KILLED). A third,
   `survivor`, keeps running. The scheduler acknowledges each status update itself, in its
   callback, and journals the acknowledgement: the takeover below waits for the last one, so no
   acknowledgement is in flight on the old stream when that stream is taken over (an
   acknowledgement sent after it would rightly get 400 "didn't match the stream ID", and pymesos
   aborts its I/O thread on an error in a callback).
2. The stream drops under the driver: another SUBSCRIBE with the same framework id takes the
   subscription over, the driver gets "Framework failed over" and a closed stream, reconnects by
   itself and re-subscribes with its framework id (the `reregistered` callback).
3. The framework restarts: the driver stops without tearing down, a new driver subscribes with
   the saved framework id (`reregistered`, not `registered`), reconciles `survivor` (still
   TASK_RUNNING), kills it (TASK_KILLED) and tears the framework down.

Every callback is printed as one `EVENT ...` line. Exits 0 after `PYMESOS DRIVER OK`; non-zero
(with `FAILED: ...`) on any unexpected event, driver crash, or after OVERALL_TIMEOUT seconds.
"""

import json
import logging
import os
import socket
import sys
import threading
import time

from pymesos import MesosSchedulerDriver, Scheduler

OVERALL_TIMEOUT = 90
STEP_TIMEOUT = 30


_LOG_LOCK = threading.Lock()


def log(line):
    """One whole line per call: `print` writes the text and its newline separately, so lines
    from the driver's thread and the main thread could run together."""
    with _LOG_LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def fail(message):
    log("FAILED: %s" % message)
    os._exit(1)


class Journal:
    """Events from the driver's I/O thread; the main thread waits for them, each consumed once."""

    def __init__(self):
        self._cond = threading.Condition()
        self._events = []
        self._consumed = set()

    def add(self, *event):
        log("EVENT " + " ".join(str(e) for e in event))
        with self._cond:
            self._events.append(event)
            self._cond.notify_all()

    def wait_for(self, what, pred, timeout=STEP_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, event in enumerate(self._events):
                    if i not in self._consumed and pred(event):
                        self._consumed.add(i)
                        return event
                errors = [e for e in self._events if e[0] == "error"]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    fail("timed out waiting for %s; errors so far: %s" % (what, errors))
                self._cond.wait(remaining)

    def status(self, task, state):
        return self.wait_for(
            "%s of %s" % (state, task),
            lambda e: e[0] == "status" and e[1] == task and e[2] == state,
        )

    def acked(self, task, state):
        return self.wait_for(
            "the acknowledgement of %s of %s" % (state, task),
            lambda e: e[0] == "acked" and e[1] == task and e[2] == state,
        )

    def any(self, pred):
        with self._cond:
            return [e for e in self._events if pred(e)]


def resources(cpus, mem):
    return [
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}},
        {"name": "mem", "type": "SCALAR", "scalar": {"value": mem}},
    ]


def command_task(task_id, agent_id, command):
    return {
        "task_id": {"value": task_id},
        "name": task_id,
        "agent_id": {"value": agent_id},
        "command": {"value": command, "shell": True},
        "resources": resources(0.1, 32),
    }


class Recorder(Scheduler):
    """Records every callback; launches the queued tasks on the first offer that comes."""

    def __init__(self, journal, launch):
        self.journal = journal
        self._lock = threading.Lock()
        self._launch = launch

    def registered(self, driver, framework_id, master_info):
        self.journal.add("registered", framework_id["value"])

    def reregistered(self, driver, master_info):
        self.journal.add("reregistered", master_info.get("version"))

    def disconnected(self, driver):
        self.journal.add("disconnected")

    def resourceOffers(self, driver, offers):
        with self._lock:
            launch, self._launch = self._launch, []
        self.journal.add("offers", len(offers))
        rest = offers
        if launch:
            offer, rest = offers[0], offers[1:]
            agent = offer["agent_id"]["value"]
            tasks = [command_task(task_id, agent, cmd) for task_id, cmd in launch]
            driver.launchTasks(offer["id"], tasks)
        for offer in rest:
            driver.declineOffer(offer["id"], {"refuse_seconds": 1})

    def statusUpdate(self, driver, status):
        self.journal.add(
            "status",
            status["task_id"]["value"],
            status["state"],
            status.get("reason", "-"),
            json.dumps(status.get("message", "")),
        )
        driver.acknowledgeStatusUpdate(status)
        if "uuid" in status:
            self.journal.add("acked", status["task_id"]["value"], status["state"])

    def error(self, driver, message):
        self.journal.add("error", json.dumps(message))


def take_over(master, framework_id):
    """SUBSCRIBEs with the framework's id on a raw connection, as a second instance of the
    framework would, reads up to SUBSCRIBED and hangs up."""
    host, port = master.split(":")
    body = json.dumps(
        {
            "type": "SUBSCRIBE",
            "framework_id": {"value": framework_id},
            "subscribe": {
                "framework_info": {
                    "user": "root",
                    "name": "pymesos-it",
                    "id": {"value": framework_id},
                    "failover_timeout": 600,
                }
            },
        }
    ).encode()
    request = (
        "POST /api/v1/scheduler HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
        "Accept: application/json\r\nContent-Length: %d\r\n\r\n" % (master, len(body))
    ).encode() + body
    with socket.create_connection((host, int(port)), timeout=STEP_TIMEOUT) as sock:
        sock.sendall(request)
        received = b""
        while b'"SUBSCRIBED"' not in received:
            chunk = sock.recv(4096)
            if not chunk:
                fail("the takeover stream ended before SUBSCRIBED: %r" % received)
            received += chunk
    if not received.startswith(b"HTTP/1.1 200"):
        fail("the takeover SUBSCRIBE was refused: %r" % received)
    log("EVENT takeover subscribed")


def retry(call, *args):
    """Runs a driver call, retrying while the master still holds the previous subscription's
    stream id (a call racing a re-subscription gets 400 "didn't match the stream ID"; a real
    framework retries it once its new subscription is current)."""
    for attempt in range(20):
        try:
            return call(*args)
        except RuntimeError as e:
            if "didn't match the stream ID" not in str(e) or attempt == 19:
                raise
            time.sleep(0.2)


def stop(driver, failover):
    """Stops the driver: with `failover` the framework stays registered, else TEARDOWN."""
    driver.stop(failover=failover)
    driver.join()


def main():
    if len(sys.argv) != 2:
        fail("usage: driver.py HOST:PORT")
    master = sys.argv[1]
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout)
    timer = threading.Timer(OVERALL_TIMEOUT, fail, ["overall timeout of %ds" % OVERALL_TIMEOUT])
    timer.daemon = True
    timer.start()

    # 1. Register, launch, finish, kill.
    journal = Journal()
    launch = [
        ("echo-1", "echo hello from pymesos"),
        ("sleep-1", "exec sleep 1000"),
        ("survivor", "exec sleep 1000"),
    ]
    framework = {"user": "root", "name": "pymesos-it", "failover_timeout": 600}
    driver = MesosSchedulerDriver(
        Recorder(journal, launch), dict(framework), master, implicit_acknowledgements=False
    )
    driver.start()
    framework_id = journal.wait_for("registered", lambda e: e[0] == "registered")[1]
    journal.status("echo-1", "TASK_RUNNING")
    journal.status("echo-1", "TASK_FINISHED")
    journal.status("sleep-1", "TASK_RUNNING")
    retry(driver.killTask, {"value": "sleep-1"})
    journal.status("sleep-1", "TASK_KILLED")
    journal.status("survivor", "TASK_RUNNING")

    # 2. The stream drops; pymesos reconnects and re-subscribes by itself. Every update so far
    # is acknowledged first: none is left to acknowledge on the stream being taken over.
    for task, state in [
        ("echo-1", "TASK_RUNNING"),
        ("echo-1", "TASK_FINISHED"),
        ("sleep-1", "TASK_RUNNING"),
        ("sleep-1", "TASK_KILLED"),
        ("survivor", "TASK_RUNNING"),
    ]:
        journal.acked(task, state)
    take_over(master, framework_id)
    journal.wait_for("the failover error", lambda e: e[0] == "error" and "failed over" in e[1])
    journal.wait_for("disconnected", lambda e: e[0] == "disconnected")
    journal.wait_for("reregistered after the drop", lambda e: e[0] == "reregistered")

    # 3. The framework restarts with its id.
    stop(driver, failover=True)
    journal = Journal()
    framework["id"] = {"value": framework_id}
    driver = MesosSchedulerDriver(
        Recorder(journal, []), dict(framework), master, implicit_acknowledgements=False
    )
    driver.start()
    journal.wait_for("reregistered after the restart", lambda e: e[0] == "reregistered")
    if journal.any(lambda e: e[0] == "registered"):
        fail("a restarted framework with an id must get reregistered, not registered")
    retry(driver.reconcileTasks, [{"task_id": {"value": "survivor"}}])
    journal.status("survivor", "TASK_RUNNING")
    retry(driver.killTask, {"value": "survivor"})
    journal.status("survivor", "TASK_KILLED")
    stop(driver, failover=False)

    log("PYMESOS DRIVER OK framework_id=%s" % framework_id)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        # pymesos interrupts the main thread when its I/O thread dies.
        fail("the pymesos driver's I/O thread aborted (see its log above)")
    except Exception as e:  # noqa: BLE001 - anything else is a failure too
        fail("%s: %s" % (type(e).__name__, e))
