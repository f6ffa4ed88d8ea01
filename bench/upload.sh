#!/usr/bin/env bash
# bench/upload.sh — the uploader's ways in against curl straight to storage, in one run:
#  1. a SIZE_MIB (1 GiB) file, five ways, in interleaved rounds (each round runs every row once, in
#     this order; one untimed round first), medians compared:
#     - `curl -T` straight to devstorage (one Put Blob with a write SAS): the reference;
#     - `curl -F` through the uploader (multipart → staged blocks → Put Block List → status
#       document → queue message);
#     - tus 1.0 at /files/ with 5 MiB and with 50 MiB PATCHes (bench/tus_client.py: POST, then each
#       piece streamed from the file with its Content-Length; the last PATCH commits and queues);
#     - direct-to-Blob: POST /uploads, `curl -T` Put Blob to the SAS URL it returns, POST
#       /uploads/{jobId}/complete (the uploader checks size, first bytes and MD5, and queues).
#     Each is timed end to end (to the answer that the job is queued); the MD5 the uploader recorded
#     is checked against the file's after the clock stops; the uploader's peak RSS per row from
#     /proc (VmHWM, reset before each row).
#  2. CLIENTS (64) concurrent clients (wrk) sending FILE_KIB (100 KiB) files for DURATION (30) s:
#     uploads/s, p50/p99 latency, the answers by status; every 202 must have its queue message.
# Exits non-zero if multipart through the uploader is below 0.5× curl -T's throughput, tus with
# 50 MiB PATCHes below 0.8× multipart's, the uploader's peak RSS above 96 MiB in any of those rows,
# or any answer in the load test is other than 202/429/503.
#
#   make bench-upload            (builds release binaries, then runs this)
#   BIN=/work/relbin SIZE_MIB=256 ROUNDS=2 DURATION=10 bash bench/upload.sh
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
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh disable=SC1091  # followed with shellcheck -x
source bench/lib.sh
start_devstorage
pids+=("$devpid")
UPLOADER_PORT=$(free_port)
API_KEY=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
# The defaults, except: no per-key rate limit and room for every client, in all and for the one
# key they share (the load test measures the uploader, not its limiter; the limits have their own
# tests — with the per-key share at its default, a quarter, 48 of 64 clients would only meet 429s).
UPLOADER_HOST=127.0.0.1 UPLOADER_PORT=$UPLOADER_PORT UPLOADER_API_KEYS=$API_KEY UPLOADER_LOG_LEVEL=warning \
  UPLOADER_RATE_PER_SECOND=0 UPLOADER_MAX_CONCURRENT_UPLOADS=$CLIENTS UPLOADER_MAX_UPLOADS_PER_KEY=$CLIENTS "$BIN/uploader" >"$work/uploader.log" 2>&1 &
uploader=$!; pids+=("$uploader")
wait_port "$UPLOADER_PORT"
URL=http://127.0.0.1:$UPLOADER_PORT

echo "generating a ${SIZE_MIB} MiB file (an MP4 header, then random bytes)…" >&2
{ printf '\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom'; head -c $(((SIZE_MIB << 20) - 24)) /dev/urandom; } >"$work/input.mp4"
expected_md5=$(python3 -c "import hashlib,base64,sys;h=hashlib.md5();f=open(sys.argv[1],'rb');[h.update(b) for b in iter(lambda:f.read(1<<20),b'')];print(base64.b64encode(h.digest()).decode())" "$work/input.mp4")
sync  # the generated file's dirty pages must not be written back during the first timed round
peak_kib() { awk '/VmHWM/ {print $2}' /proc/$uploader/status; }

echo x >"$work/warm"; "$BIN/storagetool" put --container bench --blob warm --file "$work/warm" >/dev/null  # creates the container

# The rows. Each uploads $work/input.mp4 once, end to end (for the uploader's rows: up to the answer
# that the job is queued), checks what it got, and leaves `elapsed` (s); the checks and the clean-up
# of the stored blob run after the clock stops.
elapsed=0
clock() { start=$(date +%s.%N); }
stop_clock() { elapsed=$(echo "$(date +%s.%N) - $start" | bc); }
json() { python3 -c 'import json,sys;d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d=d[k]
print(d)' "$@"; }
check_md5() {  # check_md5 ROW MD5 FILE: the MD5 the uploader recorded is the file's
  [[ $2 == "$expected_md5" ]] || { echo "$1: MD5 mismatch: $(cat "$3")" >&2; exit 1; }
}
# curl -T straight to devstorage: one Put Blob with a create+write SAS.
row_curl() {
  local sas
  sas=$("$BIN/storagetool" sas --container bench --blob "curl-$1.bin" --permissions cw --expires-in 3600)
  sync; clock
  curl -sS -f -o /dev/null -T "$work/input.mp4" -H "x-ms-blob-type: BlockBlob" -H "x-ms-version: 2024-11-04" "$sas"
  stop_clock
  "$BIN/storagetool" delete --container bench --blob "curl-$1.bin" >/dev/null
}
# curl -F through the uploader: multipart → staged blocks → Put Block List → status → message.
row_multipart() {
  sync; clock
  curl -sS -f -H "X-API-Key: $API_KEY" -F "file=@$work/input.mp4" "$URL/upload" >"$work/answer.json"
  stop_clock
  grep -q "\"md5\":\"$expected_md5\"" "$work/answer.json" || { echo "multipart: MD5 mismatch: $(cat "$work/answer.json")" >&2; exit 1; }
  "$BIN/storagetool" delete --container rawfiles --blob "$(json "$work/answer.json" input.blob)" >/dev/null
}
# tus 1.0 at /files/ in pieces of $2 MiB (bench/tus_client.py: POST, then one PATCH per piece, each
# streamed from the file with its Content-Length); the last PATCH commits and queues the job.
row_tus() {
  sync; clock
  python3 bench/tus_client.py "$URL/files/" "$API_KEY" "$work/input.mp4" $(($2 << 20)) >"$work/job"
  stop_clock
  curl -sS -f -H "X-API-Key: $API_KEY" "$URL/jobs/$(cat "$work/job")" >"$work/answer.json"
  check_md5 "tus $2 MiB" "$(json "$work/answer.json" input.md5)" "$work/answer.json"
  "$BIN/storagetool" delete --container rawfiles --blob "$(json "$work/answer.json" input.blob)" >/dev/null
}
# Direct-to-Blob: POST /uploads (a SAS for one blob), curl -T Put Blob with it, POST …/complete
# (the uploader checks size, first bytes and MD5, then queues the job).
row_direct() {
  sync; clock
  curl -sS -f -H "X-API-Key: $API_KEY" -H "Content-Type: application/json" \
    -d "{\"fileName\":\"input.mp4\",\"size\":$((SIZE_MIB << 20))}" "$URL/uploads" >"$work/grant.json"
  curl -sS -f -o /dev/null -T "$work/input.mp4" -H "x-ms-blob-type: BlockBlob" -H "x-ms-version: 2024-11-04" \
    "$(json "$work/grant.json" uploadUrl)"
  curl -sS -f -H "X-API-Key: $API_KEY" -H "Content-Type: application/json" -d "{\"md5\":\"$expected_md5\"}" \
    "$URL$(json "$work/grant.json" completeUrl)" >"$work/answer.json"
  stop_clock
  check_md5 direct "$(json "$work/answer.json" input.md5)" "$work/answer.json"
  "$BIN/storagetool" delete --container rawfiles --blob "$(json "$work/answer.json" input.blob)" >/dev/null
}
ROWS=(curl multipart tus5 tus50 direct)
row() {  # row NAME ROUND: runs it; appends its time (and the uploader's peak RSS) to $work/NAME.*
  echo 5 >/proc/$uploader/clear_refs  # reset VmHWM: this row's peak only
  case $1 in
    curl) row_curl "$2" ;; multipart) row_multipart "$2" ;; tus5) row_tus "$2" 5 ;; tus50) row_tus "$2" 50 ;; direct) row_direct "$2" ;;
  esac
  echo "$elapsed" >>"$work/$1.times"
  peak_kib >>"$work/$1.rss"
}

# One untimed upload each way first: the first pass over a fresh file and data directory is slow for
# reasons that have nothing to do with any path (page cache, directory creation).
for name in "${ROWS[@]}"; do row "$name" 0; done
rm -f "$work"/*.times "$work"/*.rss
for round in $(seq 1 "$ROUNDS"); do
  for name in "${ROWS[@]}"; do row "$name" "$round"; done
  echo "round $round: $(for name in "${ROWS[@]}"; do printf '%s %.2f s (%s KiB)  ' "$name" "$(tail -1 "$work/$name.times")" "$(tail -1 "$work/$name.rss")"; done)" >&2
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

python3 - "$SIZE_MIB" "$work" "$work/wrk.out" "$((queued - before))" "$load_rss" "$CLIENTS" "$FILE_KIB" <<'PY'
import statistics, sys
size, work = int(sys.argv[1]), sys.argv[2]
def column(name, suffix, kind): return [kind(x) for x in open(f"{work}/{name}.{suffix}").read().split()]
stats = {}; statuses = {}
for line in open(sys.argv[3]):
    parts = line.split()
    if parts and parts[0] == "status": statuses[int(parts[1])] = int(parts[2])
    elif len(parts) == 2:
        try: stats[parts[0]] = float(parts[1])
        except ValueError: pass
queued, load_rss, clients, kib = int(sys.argv[4]), int(sys.argv[5]) / 1024, int(sys.argv[6]), int(sys.argv[7])
rows = [("curl", "curl -T straight to devstorage (Put Blob, SAS)"),
        ("multipart", "curl -F through the uploader (blocks + status + message)"),
        ("tus5", "tus 1.0, 5 MiB PATCHes (POST, PATCHes, commit + status + message)"),
        ("tus50", "tus 1.0, 50 MiB PATCHes"),
        ("direct", "direct-to-Blob (POST /uploads, curl -T Put Blob with the SAS, POST complete)")]
median = {name: statistics.median(column(name, "times", float)) for name, _ in rows}
peak = {name: max(column(name, "rss", int)) / 1024 for name, _ in rows}
rounds = len(column("curl", "times", float))
print(f"\n| {size} MiB file, median of {rounds} rounds | s | MiB/s | × multipart | × curl -T | uploader peak RSS MiB |")
print("|---|---:|---:|---:|---:|---:|")
for name, label in rows:
    rss = "—" if name == "curl" else f"{peak[name]:.1f}"
    print(f"| {label} | {median[name]:.2f} | {size / median[name]:.0f} | {median['multipart'] / median[name]:.2f} | "
          f"{median['curl'] / median[name]:.2f} | {rss} |")
ratio = median["curl"] / median["multipart"]
tus_ratio = median["multipart"] / median["tus50"]
worst = max(peak[name] for name, _ in rows if name != "curl")
print(f"\nthroughput multipart/curl -T: {ratio:.2f} (goal ≥ 0.5); tus 50 MiB/multipart: {tus_ratio:.2f} (goal ≥ 0.8); "
      f"uploader peak RSS, worst row: {worst:.1f} MiB (goal ≤ 96)")
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
ok = ratio >= 0.5 and tus_ratio >= 0.8 and worst <= 96 and not bad and 0 <= queued - accepted <= clients and stats.get("socket_errors", 0) == 0
if bad: print(f"unexpected answers: {bad}")
if not 0 <= queued - accepted <= clients: print(f"{accepted} uploads accepted but {queued} messages queued")
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
