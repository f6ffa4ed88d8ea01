#!/bin/bash
# Container HEALTHCHECK probe: `healthcheck PORT PATH` → exit 0 when GET http://127.0.0.1:PORT/PATH
# answers 200 within 3 seconds. Pure bash (/dev/tcp), so the runtime images need no curl/wget and
# the probe adds no package, no library and no setuid bit to the image.
# Kubernetes ignores HEALTHCHECK (it has its own httpGet probes); this serves docker/compose.
set -u
port=${1:?port}
path=${2:-/healthz}
exec 3<>"/dev/tcp/127.0.0.1/${port}" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$path" >&3
IFS= read -r -t 3 status <&3 || exit 1
[[ $status =~ ^HTTP/1\.[01]\ 200 ]]
