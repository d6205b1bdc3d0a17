#!/usr/bin/env bash
# cluster-config/cluster.sh: start, stop, inspect or wipe a local three- or five-node baton cluster.
#
#   cluster-config/cluster.sh start|stop|status|wipe three|five
#
# start   runs `$BATON node --config cluster-config/<size>/nodeN.toml` for every node in the
#         background; logs go to data/<size>/nodeN.log, pids to data/<size>/nodeN.pid.
# stop    sends SIGTERM to every node and waits; SIGKILL after 10 s.
# status  asks every node's GET /v2/leader and prints who is leader.
# wipe    stops the cluster and deletes data/<size>.
#
# BATON names the binary (default target/release/baton, relative to the repository root).
# Paths are relative to the repository root, whatever the current directory.
set -euo pipefail

usage() {
    echo "usage: $0 start|stop|status|wipe three|five" >&2
    exit 2
}

[[ $# -eq 2 ]] || usage
action=$1
size=$2
case "$size" in
    three | five) ;;
    *) usage ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BATON=${BATON:-target/release/baton}
config_dir=cluster-config/$size
data_dir=data/$size
STOP_GRACE_SECS=10

configs=("$config_dir"/node*.toml)
[[ -e ${configs[0]} ]] || {
    echo "no configs in $config_dir" >&2
    exit 1
}

node_name() { basename "$1" .toml; }

# The quoted value of a `key = "..."` line in a node config.
config_value() {
    sed -n "s/^$2[[:space:]]*=[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p" "$1" | head -n 1
}

# The pid recorded for a node, if that process is alive and is that node.
running_pid() {
    local config=$1 pid_file pid
    pid_file=$data_dir/$(node_name "$config").pid
    [[ -f $pid_file ]] || return 1
    pid=$(<"$pid_file")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # A recycled pid belongs to some other program: leave it alone.
    if [[ -r /proc/$pid/cmdline ]] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$config"; then
        return 1
    fi
    echo "$pid"
}

start() {
    if [[ ! -x $BATON ]]; then
        echo "no baton binary at $BATON: run \`cargo build --release\` or set BATON" >&2
        exit 1
    fi
    mkdir -p "$data_dir"
    local config name pid
    for config in "${configs[@]}"; do
        name=$(node_name "$config")
        if pid=$(running_pid "$config"); then
            echo "$name already running (pid $pid)"
            continue
        fi
        nohup "$BATON" node --config "$config" >>"$data_dir/$name.log" 2>&1 &
        echo $! >"$data_dir/$name.pid"
        echo "$name started (pid $!, http $(config_value "$config" http_listen), log $data_dir/$name.log)"
    done
}

stop() {
    local config name pid waited
    local -a pids=() names=()
    for config in "${configs[@]}"; do
        name=$(node_name "$config")
        if pid=$(running_pid "$config"); then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
            names+=("$name")
        fi
        rm -f "$data_dir/$name.pid"
    done
    for i in "${!pids[@]}"; do
        pid=${pids[$i]}
        waited=0
        while kill -0 "$pid" 2>/dev/null && ((waited < STOP_GRACE_SECS * 10)); do
            sleep 0.1
            waited=$((waited + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "${names[$i]} did not stop within ${STOP_GRACE_SECS}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        else
            echo "${names[$i]} stopped"
        fi
    done
    ((${#pids[@]} > 0)) || echo "no $size node running"
}

status() {
    local config name http answer leader state pid
    local -A seen=()
    for config in "${configs[@]}"; do
        name=$(node_name "$config")
        http=$(config_value "$config" http_listen)
        if pid=$(running_pid "$config"); then state="pid $pid"; else state="not running"; fi
        if answer=$(curl -fsS --max-time 2 "http://$http/v2/leader" 2>/dev/null); then
            leader=$(sed -n 's/.*"leader"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' <<<"$answer")
            leader=${leader:-?}
            seen[$leader]=1
            if [[ $leader == "$http" ]]; then
                echo "$name  $http  ($state)  LEADER"
            else
                echo "$name  $http  ($state)  follower, leader $leader"
            fi
        else
            echo "$name  $http  ($state)  no answer (down, or no leader yet)"
        fi
    done
    case ${#seen[@]} in
        0) echo "leader: none known" ;;
        1) echo "leader: ${!seen[*]}" ;;
        *) echo "leader: nodes disagree (${!seen[*]}); an election may be under way" ;;
    esac
}

case "$action" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    wipe)
        stop
        rm -rf "$data_dir"
        echo "deleted $data_dir"
        ;;
    *) usage ;;
esac
