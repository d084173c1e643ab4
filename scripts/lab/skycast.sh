# shellcheck shell=bash
# Shell helpers shared by scripts/demo.sh and the system tests in
# tests/system/transfer/: reading a node's `skycast stats --json`, waiting for
# a counter, and checking a receiver's destination against the sources.
# Source it (bash); it sets no shell options of its own.
#
# Needs: $skycast_bin (the `skycast` CLI) and python3. Sets $sky_stop_status.
# shellcheck disable=SC2154,SC2034 # $skycast_bin comes from the caller; $sky_stop_status goes to it

sky_lab_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# sky_stat SOCKET PYEXPR: evaluates PYEXPR with `s` bound to the node's stats
# document (`skycast stats --json`) and prints the result; fails (status 1,
# nothing printed) when the node does not answer or PYEXPR raises.
#   sky_stat hub.sock 's["counters"].get("tx.fileseg.bytes", 0)'
sky_stat() {
    local socket=$1 expr=$2 doc
    doc=$("$skycast_bin" stats --json --socket "$socket" 2>/dev/null) || return 1
    SKY_EXPR=$expr python3 -c '
import json, os, sys
s = json.load(sys.stdin)
v = eval(os.environ["SKY_EXPR"], {}, {"s": s})
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)
' <<<"$doc" 2>/dev/null
}

# sky_wait_stat SOCKET PYEXPR SECONDS [REPORT]: waits until PYEXPR (over the
# stats document `s`) is true; fails after SECONDS. One process keeps one
# connection and asks every 20 ms (stats_wait.py), so the condition is seen
# within ~20 ms plus one answer of becoming true, and prints the document
# that made it true (JSON, one line). REPORT, if given, receives what the
# wait measured ("requests=N slowest_s=X longest_gap_s=Y").
sky_wait_stat() {
    local socket=$1 expr=$2 seconds=$3 report=${4:-}
    python3 "$sky_lab_dir/stats_wait.py" "$socket" "$expr" "$seconds" \
        ${report:+--report "$report"}
}

# sky_wait_node SOCKET SECONDS [PID]: waits until the node's control socket
# answers `skycast stats` (the control process is attached to its dataplane);
# fails at once when PID (the node's control process) has exited.
sky_wait_node() {
    local socket=$1 seconds=$2 pid=${3:-} deadline
    deadline=$((SECONDS + seconds))
    while ((SECONDS < deadline)); do
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            echo "sky_wait_node: the control process $pid for $socket has exited" >&2
            return 1
        fi
        [[ -S "$socket" ]] && "$skycast_bin" stats --socket "$socket" --json >/dev/null 2>&1 &&
            return 0
        sleep 0.2
    done
    return 1
}

# sky_verify_dest LABEL DEST MODE SOURCE...: compares what the receiver holds
# in DEST with each SOURCE path (a file or a tree; DEST holds it under its
# base name, as `skycast send` delivers it). Prints one line per problem,
# prefixed by LABEL; returns 1 if there was any.
#   MODE full:       every file and symlink is there; content (SHA-256), mode
#                    and mtime of files, modes of directories and symlink
#                    targets all match.
#   MODE no-partial: after a failed session: files may be missing, but every
#                    file present in DEST must be complete and byte-identical
#                    (a partial file must never appear under its final name).
sky_verify_dest() {
    local label=$1 dest=$2 mode=$3 bad=0 f path rel copy
    shift 3
    for f in "$@"; do
        while IFS= read -r -d '' path; do
            rel=${path#"$(dirname "$f")"/}
            copy="$dest/$rel"
            if [[ -L "$path" ]]; then
                if [[ -L "$copy" ]]; then
                    [[ "$(readlink "$path")" == "$(readlink "$copy")" ]] ||
                        { echo "  $label: $rel: symlink target differs"; bad=1; }
                elif [[ $mode == full || -e "$copy" ]]; then
                    echo "  $label: $rel: symlink missing or not a symlink"; bad=1
                fi
            elif [[ -f "$path" ]]; then
                if [[ ! -f "$copy" ]]; then
                    [[ $mode == full ]] && { echo "  $label: $rel: missing"; bad=1; }
                    continue
                fi
                if [[ "$(stat -c %s "$path")" != "$(stat -c %s "$copy")" ]]; then
                    echo "  $label: $rel: size $(stat -c %s "$copy"), source $(stat -c %s "$path")"
                    bad=1
                    continue
                fi
                [[ "$(sha256sum < "$path")" == "$(sha256sum < "$copy")" ]] ||
                    { echo "  $label: $rel: content differs"; bad=1; }
                [[ $mode == full ]] || continue
                [[ "$(stat -c %Y "$path")" == "$(stat -c %Y "$copy")" ]] ||
                    { echo "  $label: $rel: mtime differs"; bad=1; }
                [[ "$(stat -c %a "$path")" == "$(stat -c %a "$copy")" ]] ||
                    { echo "  $label: $rel: mode $(stat -c %a "$copy"), source $(stat -c %a "$path")"
                      bad=1; }
            elif [[ -d "$path" && $mode == full ]]; then
                if [[ ! -d "$copy" ]]; then
                    echo "  $label: $rel/: directory missing"; bad=1
                else
                    [[ "$(stat -c %a "$path")" == "$(stat -c %a "$copy")" ]] ||
                        { echo "  $label: $rel/: mode $(stat -c %a "$copy"), source $(stat -c %a "$path")"
                          bad=1; }
                fi
            fi
        done < <(find "$f" -print0)
    done
    return "$bad"
}

# sky_dataplane_yaml FILE_PREFIX DEVICE CIDR [GATEWAY]: a lab node's
# `dataplane:` section, the control section to follow: one lcore floating
# over the two CPUs, 256 MB, MTU 9000, 4095 mbufs, a 20 us idle backoff.
sky_dataplane_yaml() {
    cat <<YAML
dataplane:
  eal: {lcores: "0@(0-1)", file_prefix: $1, memory_mb: 256}
  ports:
    - {device: "$2", mtu: 9000, address: $3${4:+, gateway: $4}}
  mempool: {mbufs: 4095}
  idle_backoff_us: 20
YAML
}

# sky_control_yaml WORK LOGS NODE ROLE UID: the start of a lab node's
# `control:` section (its socket WORK/NODE.sock, its log LOGS/NODE-control.log,
# lcore 8 floating), the role's own keys to follow.
sky_control_yaml() {
    cat <<YAML
control:
  role: $4
  eal: {lcores: "8@(0-1)"}
  uid: $5
  socket: $1/$3.sock
  log: {level: info, file: $2/$3-control.log}
YAML
}

# sky_start_node LAB NODE LOGS: NODE's dataplane and control process, started
# in its namespace with WORK's NODE.yaml (the caller's $work), logs in LOGS;
# their PIDs are added to the caller's `pids`. Uses the caller's $lab_sh,
# $dataplane_bin, $control_bin.
sky_start_node() {
    bash "$lab_sh" exec --name "$1" "$2" "$dataplane_bin" --config "$work/$2.yaml" \
        > "$3/$2-dataplane.log" 2>&1 &
    pids+=($!)
    bash "$lab_sh" exec --name "$1" "$2" "$control_bin" --config "$work/$2.yaml" \
        > "$3/$2-control.out" 2>&1 &
    pids+=($!)
}

# sky_stop_pids PID...: what a test started, stopped at its end, the last
# started first, one at a time: SIGTERM, then up to 5 s to exit before
# SIGKILL, before the next. A node's control process (started after its
# dataplane) so ends its sessions while its dataplane still answers, as the
# systemd units order them; stopped together, a control process could be
# mid-command when its dataplane vanished. Not necessarily children of this
# shell; nothing is reaped.
sky_stop_pids() {
    local i pid
    for ((i = $# ; i >= 1; --i)); do
        pid=${!i}
        kill -TERM "$pid" 2>/dev/null || continue
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
}

# sky_finish_work STATUS NAME WORK: a test's work directory at its end: on
# failure (STATUS != 0) kept, with the last 30 lines of each file in
# WORK/logs printed; on success removed.
sky_finish_work() {
    local status=$1 name=$2 work=$3 f
    if ((status != 0)); then
        echo "$name: FAILED; logs kept in $work" >&2
        for f in "$work"/logs/*; do
            echo "----- $f (last 30 lines)" >&2
            tail -n 30 "$f" >&2
        done
    else
        rm -rf "$work"
    fi
}

# sky_stop_pid PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 5);
# reaps the process (a child of this shell: call it directly, not in $(...))
# and leaves its exit status in $sky_stop_status (128+N: killed by signal N).
sky_stop_pid() {
    local pid=$1 seconds=${2:-5} status=0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq $((seconds * 10))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || status=$?
    sky_stop_status=$status
}
