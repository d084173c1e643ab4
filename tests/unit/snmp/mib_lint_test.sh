#!/usr/bin/env bash
# SKYCAST-MIB passes smilint at its strictest level (9: every warning),
# with no output at all, against the SMIv2 base modules in base-mibs/.
#   mib_lint_test.sh DIR   (DIR holds SKYCAST-MIB.txt and base-mibs/)
set -euo pipefail
dir=$1
out=$(SMIPATH="$dir/base-mibs" smilint -l 9 "$dir/SKYCAST-MIB.txt" 2>&1) || true
if [[ -n $out ]]; then
    echo "smilint reports on SKYCAST-MIB:" >&2
    echo "$out" >&2
    exit 1
fi
# The module really was read: smidump lists its notifications.
# (Into a variable first: grep -q would close the pipe early, and pipefail
# would count smidump's SIGPIPE as a failure.)
ids=$(SMIPATH="$dir/base-mibs" smidump -f identifiers "$dir/SKYCAST-MIB.txt" 2> /dev/null)
grep -q 'skycastDataplaneLost' <<< "$ids" || { echo "smidump does not see skycastDataplaneLost" >&2; exit 1; }
echo "SKYCAST-MIB: smilint -l 9 clean"
# net-snmp's own MIB parser (what snmpwalk -m and snmptrapd use) reads it
# without a complaint and resolves its root.
if command -v snmptranslate > /dev/null; then
    err=$(snmptranslate -M "$dir/base-mibs:$dir" -m SKYCAST-MIB -On SKYCAST-MIB::skycastDataplaneLost 2>&1 > /dev/null) ||
        { echo "snmptranslate failed: $err" >&2; exit 1; }
    # On a machine where net-snmp never ran, its first run creates its
    # persistent directories and says so ("Created directory:
    # /var/lib/snmp/cert_indexes"): a note about the host, not the MIB.
    err=$(grep -v '^Created directory: ' <<< "$err" || true)
    [[ -z $err ]] || { echo "net-snmp's parser reports on SKYCAST-MIB: $err" >&2; exit 1; }
    oid=$(snmptranslate -M "$dir/base-mibs:$dir" -m SKYCAST-MIB -On SKYCAST-MIB::skycastDataplaneLost)
    [[ $oid == .1.3.6.1.4.1.32473.0.2 ]] || { echo "skycastDataplaneLost is $oid" >&2; exit 1; }
    echo "SKYCAST-MIB: net-snmp parses it"
fi
