#!/usr/bin/env bash
# The end-to-end benchmark: stock UFTP 4.10.2 (`uftp` + 3 `uftpd`) against
# Skycast (hub + 3 receivers) over the same namespace lab, the same link and
# the same file, alternating, every copy checked by SHA-256.
#
#   perf/e2e/e2e.sh [--build-dir DIR] [--scenarios A,B,...] [--pairs N]
#                   [--scale F] [--work DIR]
#
# Per scenario it runs N pairs (default 2), stock first in odd pairs and
# Skycast first in even ones, and prints the medians:
#
#   e2e scenario=NAME stock_mbps=X skycast_mbps=Y ratio=R passes_stock=
#       passes_skycast= resent_pct_skycast= cpu_s_stock= cpu_s_skycast=
#       host_busy_pct= link_unplanned_drops=
#
# Mbit/s is the file's bits over the sender's wall time, from its start to its
# exit (the announce phase and the completion rounds included, for both).
# CPU-seconds are the sender's and all receivers' processes during the send
# (stock: uftp and the three uftpd; Skycast: the four dataplanes and four
# control processes). host_busy_pct is the share of both CPUs busy during
# Skycast's send (stock's in parentheses in the log). link_unplanned_drops is
# what the link emulator dropped without being told to, over both runs: a
# non-zero value means the emulator was starved and the pair is suspect.
#
# Scenarios (see perf/README.md): lan_jumbo, lan_jumbo_durable, lan_1300, lan_gcm_8000,
# lan_gcm_8800, geo, geo_bursty, geo_narrow_return, and geo_fec /
# geo_bursty_fec (the same links, Skycast with FEC parity, control.fec;
# stock as in geo / geo_bursty). In the geo scenarios Skycast sends every
# control datagram three times (control.control_copies: 3, as a lossy link is
# configured; docs/operations.md). Skycast's receivers report a file
# complete once it is in the page cache, as stock uftpd does
# (dataplane.flush_before_complete: false), except in lan_jumbo_durable:
# the LAN jumbo run with Skycast flushing every file to disk before its
# COMPLETE (the default; stock cannot), which shows what durability costs on
# the lab's one disk that all three receivers share. Every run starts after a
# `sync`, so no run pays for the previous one's writeback, and each run's
# received copies are deleted once checked, so each starts from the same
# memory (run_stock). --scale 0.1 shrinks the
# files for a quick look. Needs root (namespaces, hugepages); takes about an
# hour for everything at --scale 1.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir="$root/build"
scenarios=lan_jumbo,lan_jumbo_durable,lan_1300,lan_gcm_8000,lan_gcm_8800,geo,geo_bursty,geo_narrow_return,geo_fec,geo_bursty_fec
pairs=2
scale=1
work=

while (($#)); do
    case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --scenarios) scenarios=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    --scale) scale=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "e2e.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ $EUID -eq 0 ]] || { echo "e2e.sh: run as root (namespaces, hugepages)" >&2; exit 2; }
build_dir=$(cd "$build_dir" && pwd)
skycast_bin="$build_dir/control/skycast"
linkem_bin="$build_dir/perf/linkem/skycast-linkem"
for b in "$skycast_bin" "$linkem_bin" "$build_dir/dataplane/app/skycast-dataplane"; do
    [[ -x $b ]] || { echo "e2e.sh: $b not built (ninja -C $build_dir)" >&2; exit 2; }
done
command -v uftp > /dev/null || { echo "e2e.sh: stock uftp missing (apt-get install uftp)" >&2; exit 2; }
lab=e2e
# Receive buffering: stock uftpd asks for 100 MB (-B) and gets the host's
# cap (4 MiB); a Skycast af_packet port has the lab's 512-frame ring (8 MiB
# of 16 KiB frames), LAB_RING_FRAMES in the environment to try others
# (scripts/lab.sh). A ratio is only a ratio with comparable buffers.
lab_sh="$root/scripts/lab.sh"
cpu_usage="$root/scripts/lab/cpu_usage.py"
if [[ -z $work ]]; then
    work=$(mktemp -d /tmp/skycast-e2e-XXXXXX)
fi
mkdir -p "$work"
trap 'bash "$lab_sh" down --name "$lab" --kill > /dev/null 2>&1 || true' EXIT

hub_uid=0x0A4D0001
rcv_uid() { printf '0x0A4D%04X' $((10 + $1)); }

# scenario NAME: sets the lab link, file size, blocks, rates and suite.
scenario() {
    link= mb=512 block_stock=8800 block_skycast=8800 encrypt=none fec= copies=1 flush=false
    fast_start=0
    # Unpaced on the LAN: stock -R -1; Skycast's pacer at 20 Gbit/s does not
    # hold a 2-core lab back.
    rate_stock=-1 rate_skycast=20G
    case $1 in
    lan_jumbo) ;;
    lan_jumbo_durable) flush=true ;;
    lan_1300) block_stock=1300 block_skycast=1300 ;;
    lan_gcm_8000) encrypt=aes256-gcm block_stock=8000 block_skycast=8000 ;;
    # Stock 4.10.2 aborts with encryption at -b 8800 (double free): it stays
    # at 8000.
    lan_gcm_8800) encrypt=aes256-gcm block_stock=8000 ;;
    geo | geo_bursty | geo_narrow_return | geo_fec | geo_bursty_fec)
        mb=1024
        # Both senders at 950 Mbit/s into the 1 Gbit/s link: neither is
        # cut by the link's queue for sending faster than it.
        rate_stock=950000 rate_skycast=950M
        # Skycast as a lossy link is configured: every control datagram
        # three times, the second 10 ms after the first (control.control_copies,
        # docs/operations.md; stock has no such setting).
        copies=3
        # ... and its FILEINFO with the ANNOUNCE, not a round trip later
        # (control.fast_start, docs/protocol.md §21; stock has no such mode).
        fast_start=1
        case $1 in
        geo) link="--delay 250ms --rate 1G --loss 1" ;;
        geo_bursty) link="--delay 250ms --rate 1G --burst-loss 2" ;;
        # Skycast with FEC parity (docs/protocol.md §17): 64-block groups,
        # 4 % up front and at least what the link's loss asks for among
        # three receivers (control.fec.expected_loss: 6 per group at 1 %).
        geo_fec) link="--delay 250ms --rate 1G --loss 1" fec=64:4:1 ;;
        geo_bursty_fec) link="--delay 250ms --rate 1G --burst-loss 2" fec=64:8:2 ;;
        geo_narrow_return) link="--delay 250ms --rate 1G --loss 1 --return-rate 2M" ;;
        esac
        ;;
    *) echo "e2e.sh: unknown scenario $1" >&2; exit 2 ;;
    esac
    mb=$(python3 -c "print(max(1, int($mb * $scale)))")
}

# The file of a size, made once.
source_file() {
    local f="$work/src-${1}M.bin"
    [[ -f $f ]] || head -c $(($1 * 1048576)) /dev/urandom > "$f"
    echo "$f"
}

# run_stock NAME PAIR FILE -> $work/NAME-PAIR-stock.json
run_stock() {
    local name=$1 pair=$2 file=$3 out="$work/$1-$2-stock.json" dir="$work/stock"
    rm -rf "$dir"
    sync # the previous run's writeback is not this run's to pay
    mkdir -p "$dir/keys" "$dir/logs"
    bash "$lab_sh" up --name "$lab" --receivers 3 --kernel-nodes hub,rcv1,rcv2,rcv3 \
        ${link:+--link "$link" --linkem "$linkem_bin"} > "$dir/logs/lab.log"
    eval "$(bash "$lab_sh" env --name "$lab")"
    local crypto_server=() i pids=()
    if [[ $encrypt != none ]]; then
        "$skycast_bin" keys generate ec:prime256v1 "$dir/keys/hub.pem" > /dev/null
        crypto_server=(-Y "$encrypt" -h sha256 -e ecdh_ecdsa -k "$dir/keys/hub.pem")
    fi
    for i in 1 2 3; do
        mkdir -p "$dir/rcv$i"
        local key=()
        if [[ $encrypt != none ]]; then
            uftp_keymgt -g ec:prime256v1 "$dir/keys/rcv$i.pem" > /dev/null 2>&1
            key=(-k "$dir/keys/rcv$i.pem")
        fi
        bash "$lab_sh" exec --name "$lab" "rcv$i" uftpd -d -q -I "$LAB_RCV_IF" -U "$(rcv_uid "$i")" \
            -B 104857600 -D "$dir/rcv$i" "${key[@]}" > "$dir/logs/rcv$i.log" 2>&1 &
        pids+=($!)
    done
    sleep 1 # the uftpd bind and join before the first ANNOUNCE
    python3 "$cpu_usage" snapshot "$dir/before.json" "${pids[@]}"
    local status=0
    bash "$lab_sh" exec --name "$lab" hub python3 "$cpu_usage" run "$dir/uftp.json" \
        uftp -I "$LAB_HUB_IF" -U "$hub_uid" -H "$(rcv_uid 1),$(rcv_uid 2),$(rcv_uid 3)" \
        -B 104857600 -R "$rate_stock" -b "$block_stock" -x 2 "${crypto_server[@]}" "$file" \
        > "$dir/logs/uftp.log" 2>&1 || status=$?
    python3 "$cpu_usage" snapshot "$dir/after.json" "${pids[@]}"
    local link_stats=null
    if [[ -n $LAB_LINK_STATS ]]; then
        sleep 0.5 # the emulator rewrites its counters every 200 ms
        link_stats=$(cat "$LAB_LINK_STATS")
    fi
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2> /dev/null || true; done
    bash "$lab_sh" down --name "$lab" > /dev/null
    python3 - "$file" "$dir" "$status" "$link_stats" "$cpu_usage" > "$out" <<'PY'
import hashlib, json, os, re, subprocess, sys
file, d, status, link, cpu_usage = sys.argv[1:6]
def sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
want = sha(file)
name = file.rsplit("/", 1)[1]
copies = [f"{d}/rcv{i}/{name}" for i in (1, 2, 3)]
ok = all(os.path.exists(c) and sha(c) == want for c in copies)
uftp = json.load(open(f"{d}/uftp.json"))
receivers = json.loads(subprocess.check_output(
    ["python3", cpu_usage, "diff", f"{d}/before.json", f"{d}/after.json"]))
log = open(f"{d}/logs/uftp.log", errors="replace").read()
# uftp logs each NAK round as "Got N NAKs for pass P section S": the session
# needed as many passes as the highest P seen plus one (pass 1 has none).
nak_passes = [int(p) for p in re.findall(r"NAKs for pass (\d+)", log)]
print(json.dumps({"ok": int(status) == 0 and ok, "status": int(status),
                  "seconds": uftp["seconds"],
                  "cpu_s": round(uftp["cpu_s"] + receivers["cpu_s"], 2),
                  "host_busy_pct": receivers["host_busy_pct"],
                  "passes": (max(nak_passes) + 1) if nak_passes else 1,
                  "link": json.loads(link)}))
PY
    # The copies are checked: gone, as demo.sh removes Skycast's, so both
    # start from the same memory. On these VMs writing into pages the host
    # has not backed lately costs three times the CPU (copy_folio_from_iter
    # faulting them in); a run after one whose copies stay pays that, one
    # after a run whose copies were deleted reuses warm pages.
    rm -rf "$dir"/rcv1 "$dir"/rcv2 "$dir"/rcv3
}

# run_skycast NAME PAIR FILE -> $work/NAME-PAIR-skycast.json
run_skycast() {
    local name=$1 pair=$2 file=$3 out="$work/$1-$2-skycast.json" status=0
    rm -f "$work/report.json"
    sync # the previous run's writeback is not this run's to pay
    bash "$root/scripts/demo.sh" --build-dir "$build_dir" --name "$lab" --receivers 3 \
        --files "$file" --block "$block_skycast" --rate "$rate_skycast" \
        ${link:+--link "$link"} ${fec:+--fec "$fec"} --control-copies "$copies" --encrypt "$encrypt" \
        $( ((fast_start)) && echo --fast-start) \
        $([[ $flush == true ]] || echo --no-flush) \
        --report "$work/report.json" \
        > "$work/skycast-demo.log" 2>&1 || status=$?
    cp "$work/skycast-demo.log" "$work/$name-$pair-skycast.log"
    python3 - "$work/report.json" "$status" > "$out" <<'PY'
import json, os, sys
if not os.path.exists(sys.argv[1]):
    # demo.sh failed before the send: a failed run, with nothing measured.
    print(json.dumps({"ok": False, "status": int(sys.argv[2]), "seconds": float("inf"),
                      "cpu_s": 0, "host_busy_pct": 0, "passes": 0, "resent_pct": 0,
                      "link": None}))
    sys.exit(0)
report = json.load(open(sys.argv[1]))
s = report.get("session") or {}
print(json.dumps({"ok": int(sys.argv[2]) == 0, "status": int(sys.argv[2]),
                  "seconds": report["seconds"], "cpu_s": report["cpu_s"],
                  "host_busy_pct": report["host_busy_pct"], "passes": s.get("passes", 0),
                  "resent_pct": 100.0 * (s.get("bytes_sent", 0) - s.get("bytes", 0))
                                / max(1, s.get("bytes", 1)),
                  "time_by_phase": s.get("time_by_phase", ""),
                  "link": report.get("link")}))
PY
}

failed=0
for name in ${scenarios//,/ }; do
    scenario "$name"
    file=$(source_file "$mb")
    echo "== $name: ${mb} MiB, blocks stock $block_stock / Skycast $block_skycast," \
         "suite $encrypt${link:+, link: $link}"
    for ((pair = 1; pair <= pairs; ++pair)); do
        if ((pair % 2)); then order="stock skycast"; else order="skycast stock"; fi
        for who in $order; do
            "run_$who" "$name" "$pair" "$file"
            echo "   pair $pair $who: $(cat "$work/$name-$pair-$who.json")"
        done
    done
    python3 - "$work" "$name" "$pairs" "$mb" <<'PY' || failed=1
import json, statistics, sys
work, name, pairs, mb = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
runs = {who: [json.load(open(f"{work}/{name}-{p}-{who}.json")) for p in range(1, pairs + 1)]
        for who in ("stock", "skycast")}
bits = mb * 1048576 * 8
def med(who, key):
    return statistics.median(r[key] for r in runs[who])
def mbps(who):
    return statistics.median(bits / r["seconds"] / 1e6 for r in runs[who])
unplanned = sum((r["link"] or {}).get("unplanned_drops", 0) for w in runs for r in runs[w])
bad = [f"{w} pair {i + 1}" for w in runs for i, r in enumerate(runs[w]) if not r["ok"]]
stock, sky = mbps("stock"), mbps("skycast")
print(f"e2e scenario={name} stock_mbps={stock:.0f} skycast_mbps={sky:.0f} "
      f"ratio={sky / stock:.2f} passes_stock={med('stock', 'passes'):g} "
      f"passes_skycast={med('skycast', 'passes'):g} "
      f"resent_pct_skycast={med('skycast', 'resent_pct'):.1f} "
      f"cpu_s_stock={med('stock', 'cpu_s'):.1f} cpu_s_skycast={med('skycast', 'cpu_s'):.1f} "
      f"host_busy_pct={med('skycast', 'host_busy_pct'):.0f} "
      f"(stock {med('stock', 'host_busy_pct'):.0f}) link_unplanned_drops={unplanned}"
      + (f" FAILED: {', '.join(bad)}" if bad else ""), flush=True)
sys.exit(1 if bad else 0)
PY
done
echo "e2e: work dir $work"
exit "$failed"
