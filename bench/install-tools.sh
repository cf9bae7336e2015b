#!/usr/bin/env bash
# Installs the load generator the benchmarks drive the server with (wrk, C), from Debian's
# packages, when it is missing. Run by `make bench`; the installed package never runs apt-get itself
# (`bienestar bench` skips the HTTP metrics, with the reason, when wrk is absent).
set -euo pipefail
if command -v wrk >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "wrk is not installed and cannot be installed here: apt-get install wrk" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q wrk || { apt-get update -q && apt-get install -y -q wrk; }
