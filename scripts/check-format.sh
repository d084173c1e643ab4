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
bad=()
for f in "${files[@]}"; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        bad+=("$f")
    fi
done
if ((${#bad[@]})); then
    echo "check-format: ${#bad[@]} file(s) not formatted per .clang-format:" >&2
    printf '  %s\n' "${bad[@]}" >&2
    exit 1
fi
echo "check-format: ${#files[@]} files formatted"
