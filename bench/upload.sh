#!/usr/bin/env bash
# bench/upload.sh — the uploader against curl straight to storage, in one run:
#  1. a 1 GiB file: `curl -F` through the uploader (multipart → staged blocks → Put Block List →
#     status document → queue message) beside `curl -T` of the same file straight to devstorage
#     (one Put Blob with a write SAS); interleaved rounds, medians compared; the uploader's peak RSS
#     per round from /proc (VmHWM, reset between rounds).
#  2. 64 concurrent clients (wrk) sending 100 KiB files for 30 s: uploads/s, p50/p99 latency, the
#     answers by status; every 202 must have its queue message.
# Exits non-zero if the uploader is below 0.5× curl's throughput, above 96 MiB peak RSS, or any
# answer in the load test is other than 202/429/503.
#
#   make bench-upload            (builds release binaries, then runs this)
#   SIZE_MIB=256 ROUNDS=2 DURATION=10 bash bench/upload.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
SIZE_MIB=${SIZE_MIB:-1024}
ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-64}
DURATION=${DURATION:-30}
FILE_KIB=${FILE_KIB:-100}
work=$(mktemp -d /tmp/bench-upload.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT

source bench/lib.sh
start_devstorage
pids+=("$devpid")
UPLOADER_PORT=$(free_port)
API_KEY=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
# The defaults, except: no per-key rate limit and room for every client (the load test measures
# the uploader, not its limiter; both limits have their own tests).
UPLOADER_HOST=127.0.0.1 UPLOADER_PORT=$UPLOADER_PORT UPLOADER_API_KEYS=$API_KEY UPLOADER_LOG_LEVEL=warning \
  UPLOADER_RATE_PER_SECOND=0 UPLOADER_MAX_CONCURRENT_UPLOADS=$CLIENTS "$BIN/uploader" >"$work/uploader.log" 2>&1 &
uploader=$!; pids+=($uploader)
wait_port "$UPLOADER_PORT"
URL=http://127.0.0.1:$UPLOADER_PORT

echo "generating a ${SIZE_MIB} MiB file (an MP4 header, then random bytes)…" >&2
{ printf '\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom'; head -c $(((SIZE_MIB << 20) - 24)) /dev/urandom; } >"$work/input.mp4"
expected_md5=$(python3 -c "import hashlib,base64,sys;h=hashlib.md5();f=open(sys.argv[1],'rb');[h.update(b) for b in iter(lambda:f.read(1<<20),b'')];print(base64.b64encode(h.digest()).decode())" "$work/input.mp4")
sync  # the generated file's dirty pages must not be written back during the first timed round
peak_kib() { awk '/VmHWM/ {print $2}' /proc/$uploader/status; }

echo x >"$work/warm"; "$BIN/storagetool" put --container bench --blob warm --file "$work/warm" >/dev/null  # creates the container
# One untimed upload each way first: the first pass over a fresh file and data directory is slow for
# reasons that have nothing to do with either path (page cache, directory creation).
sas=$("$BIN/storagetool" sas --container bench --blob warmup.bin --permissions cw --expires-in 3600)
curl -sS -f -o /dev/null -T "$work/input.mp4" -H "x-ms-blob-type: BlockBlob" -H "x-ms-version: 2024-11-04" "$sas"
curl -sS -f -o /dev/null -H "X-API-Key: $API_KEY" -F "file=@$work/input.mp4" "$URL/upload"
"$BIN/storagetool" delete --container bench --blob warmup.bin >/dev/null
curl_times=(); up_times=(); up_rss=()
for round in $(seq 1 "$ROUNDS"); do
  sas=$("$BIN/storagetool" sas --container bench --blob "curl-$round.bin" --permissions cw --expires-in 3600)
  sync  # each timed upload starts with devstorage's previous writes flushed
  start=$(date +%s.%N)
  curl -sS -f -o /dev/null -T "$work/input.mp4" -H "x-ms-blob-type: BlockBlob" -H "x-ms-version: 2024-11-04" "$sas"
  curl_times+=("$(echo "$(date +%s.%N) - $start" | bc)")
  "$BIN/storagetool" delete --container bench --blob "curl-$round.bin" >/dev/null

  echo 5 >/proc/$uploader/clear_refs  # reset VmHWM: this round's peak only
  sync
  start=$(date +%s.%N)
  curl -sS -f -H "X-API-Key: $API_KEY" -F "file=@$work/input.mp4" "$URL/upload" >"$work/answer.json"
  up_times+=("$(echo "$(date +%s.%N) - $start" | bc)")
  up_rss+=("$(peak_kib)")
  grep -q "\"md5\":\"$expected_md5\"" "$work/answer.json" || { echo "uploader MD5 mismatch: $(cat "$work/answer.json")" >&2; exit 1; }
  blob=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["input"]["blob"])' "$work/answer.json")
  "$BIN/storagetool" delete --container rawfiles --blob "$blob" >/dev/null
  echo "round $round: curl -T ${curl_times[-1]} s, uploader ${up_times[-1]} s (peak RSS ${up_rss[-1]} KiB)" >&2
done

echo "load: $CLIENTS clients × ${FILE_KIB} KiB files for ${DURATION} s…" >&2
"$BIN/storagetool" queue-count --queue jobqueue >"$work/before" 2>/dev/null || echo 0 >"$work/before"
{ printf '\xff\xd8\xff\xe0'; head -c $((FILE_KIB * 1024 - 4)) /dev/urandom; } >"$work/small.jpg"
echo 5 >/proc/$uploader/clear_refs
BODY_FILE="$work/small.jpg" API_KEY=$API_KEY wrk -t2 -c"$CLIENTS" -d"${DURATION}s" --timeout 30s \
  -s bench/upload-load.lua "$URL/upload" >"$work/wrk.out"
load_rss=$(peak_kib)
sleep 1
queued=$("$BIN/storagetool" queue-count --queue jobqueue | tr -dc '0-9')
before=$(tr -dc '0-9' <"$work/before"); before=${before:-0}

python3 - "$SIZE_MIB" "${curl_times[*]}" "${up_times[*]}" "${up_rss[*]}" "$work/wrk.out" "$((queued - before))" "$load_rss" "$CLIENTS" "$FILE_KIB" <<'PY'
import statistics, sys
size = int(sys.argv[1]); ct = [float(x) for x in sys.argv[2].split()]; ut = [float(x) for x in sys.argv[3].split()]
ur = [int(x) for x in sys.argv[4].split()]
stats = {}; statuses = {}
for line in open(sys.argv[5]):
    parts = line.split()
    if parts and parts[0] == "status": statuses[int(parts[1])] = int(parts[2])
    elif len(parts) == 2:
        try: stats[parts[0]] = float(parts[1])
        except ValueError: pass
queued, load_rss, clients, kib = int(sys.argv[6]), int(sys.argv[7]) / 1024, int(sys.argv[8]), int(sys.argv[9])
mc, mu = statistics.median(ct), statistics.median(ut)
ratio = mc / mu
peak = max(ur) / 1024
print(f"\n| {size} MiB file | median s | MiB/s | peak RSS MiB |")
print("|---|---:|---:|---:|")
print(f"| curl -T straight to devstorage (Put Blob, SAS) | {mc:.2f} | {size/mc:.0f} | — |")
print(f"| curl -F through the uploader (blocks + status + message) | {mu:.2f} | {size/mu:.0f} | {peak:.1f} (uploader) |")
print(f"\nthroughput ratio uploader/direct: {ratio:.2f} (goal ≥ 0.5); uploader peak RSS {peak:.1f} MiB (goal ≤ 96)")
accepted = statuses.get(202, 0)
seconds = stats.get("seconds", 1)
print(f"\n| {clients} clients × {kib} KiB for {seconds:.0f} s | value |")
print("|---|---:|")
print(f"| uploads/s (202) | {accepted / seconds:.0f} |")
print(f"| p50 latency ms | {stats.get('p50_ms', 0):.1f} |")
print(f"| p99 latency ms | {stats.get('p99_ms', 0):.1f} |")
print(f"| answers by status | {', '.join(f'{k}: {v}' for k, v in sorted(statuses.items()))} |")
print(f"| socket errors | {int(stats.get('socket_errors', 0))} |")
print(f"| queue messages added | {queued} |")
print(f"| uploader peak RSS MiB | {load_rss:.1f} |")
bad = {k: v for k, v in statuses.items() if k not in (202, 429, 503)}
ok = ratio >= 0.5 and peak <= 96 and not bad and 0 <= queued - accepted <= clients and stats.get("socket_errors", 0) == 0
if bad: print(f"unexpected answers: {bad}")
if not 0 <= queued - accepted <= clients: print(f"{accepted} uploads accepted but {queued} messages queued")
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
