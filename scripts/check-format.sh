#!/usr/bin/env bash
# Fails, listing the files, when any C++ source under the project's code
# folders differs from what .clang-format asks for. Fix with:
#   clang-format -i $(scripts/check-format.sh --list)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mapfile -t files < <(find protocol crypto config dataplane control tests perf \
    -name '*.h' -o -name '*.cc' | sort)
if [[ "${1:-}" == "--list" ]]; then
    printf '%s\n' "${files[@]}"
    exit 0
fi
# One clang-format for all the files (a process per file took 40 s of the
# unit suite): it names each file that differs in its warnings
# ("FILE:LINE:COL: error: code should be clang-formatted").
status=0
report=$(clang-format --dry-run --Werror "${files[@]}" 2>&1 >/dev/null) || status=$?
mapfile -t bad < <(grep -oE '^[^:]+:[0-9]+:[0-9]+: error: code should be clang-formatted' \
    <<<"$report" | cut -d: -f1 | sort -u)
if ((status != 0 && ${#bad[@]} == 0)); then
    # It failed without naming a file: a broken config, a missing file.
    echo "check-format: clang-format failed:" >&2
    echo "$report" | tail -n 20 >&2
    exit 1
fi
if ((${#bad[@]})); then
    echo "check-format: ${#bad[@]} file(s) not formatted per .clang-format:" >&2
    printf '  %s\n' "${bad[@]}" >&2
    exit 1
fi
echo "check-format: ${#files[@]} files formatted"
