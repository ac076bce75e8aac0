# shellcheck shell=bash
# Sourced by scripts/lock, scripts/test and scripts/serve: torch_index_args PYTHON sets
# TORCH_INDEX_ARGS to the pip arguments that add the PyTorch CPU index (TORCH_INDEX_URL,
# default https://download.pytorch.org/whl/cpu), where the CPU build of torch comes from.
# pip retries an index that does not answer for every package it looks up, which takes
# minutes, so where this one does not answer it is left out and torch must come from a local
# wheel that pip finds by itself (its find-links setting).
torch_index_args() {
    local url=${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}
    # shellcheck disable=SC2034  # read by the scripts that source this file
    if "$1" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10)' \
        "${url%/}/torch/" 2>/dev/null; then
        TORCH_INDEX_ARGS=(--extra-index-url "$url")
    else
        echo "$url does not answer: torch comes from local wheels only (pip's find-links)" >&2
        TORCH_INDEX_ARGS=()
    fi
}
