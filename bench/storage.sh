#!/usr/bin/env bash
# bench/storage.sh — StorageKit's staged upload of a 1 GiB stream into devstorage, beside
# `curl -T` of the same file straight to devstorage (one Put Blob with a write SAS), in one run.
# Runs interleaved (curl, storagetool, curl, storagetool, …) and compares medians, because this
# machine's speed drifts. Prints a table; exits non-zero if StorageKit is below 0.5× curl's
# throughput or its peak RSS is above 96 MiB.
#
#   make bench-storage            (builds release binaries, then runs this)
#   SIZE_MIB=256 ROUNDS=3 bash bench/storage.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
SIZE_MIB=${SIZE_MIB:-1024}
ROUNDS=${ROUNDS:-3}
BLOCK_MIB=${BLOCK_MIB:-4}
CONCURRENCY=${CONCURRENCY:-4}
work=$(mktemp -d /tmp/bench-storage.XXXXXX)
trap 'kill $devpid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

source bench/lib.sh
start_devstorage

echo "generating a ${SIZE_MIB} MiB file of random bytes…" >&2
head -c $((SIZE_MIB << 20)) /dev/urandom >"$work/input.bin"
expected_md5=$(openssl md5 -binary "$work/input.bin" 2>/dev/null | base64 || python3 -c "import hashlib,base64,sys;print(base64.b64encode(hashlib.md5(open(sys.argv[1],'rb').read()).digest()).decode())" "$work/input.bin")
"$BIN/storagetool" put --container bench --blob warmup --file /dev/null >/dev/null 2>&1 || \
  { echo x >"$work/w"; "$BIN/storagetool" put --container bench --blob warmup --file "$work/w" >/dev/null; }

curl_times=(); tool_times=(); tool_rss=(); curl_rss=()
for round in $(seq 1 "$ROUNDS"); do
  # A: curl straight to devstorage, one Put Blob with a write SAS.
  sas=$("$BIN/storagetool" sas --container bench --blob "curl-$round.bin" --permissions cw --expires-in 3600)
  /usr/bin/time -f "%e %M" -o "$work/time" curl -sS -f -o /dev/null -T "$work/input.bin" \
    -H "x-ms-blob-type: BlockBlob" -H "x-ms-version: 2024-11-04" "$sas"
  read -r secs rss <"$work/time"; curl_times+=("$secs"); curl_rss+=("$rss")
  "$BIN/storagetool" delete --container bench --blob "curl-$round.bin" >/dev/null
  # B: StorageKit staged upload of the same bytes as a stream of unknown length (a pipe).
  /usr/bin/time -f "%e %M" -o "$work/time" "$BIN/storagetool" upload --container bench --blob "kit-$round.bin" \
    --block-size $((BLOCK_MIB << 20)) --concurrency "$CONCURRENCY" <"$work/input.bin" >"$work/upload.out"
  read -r secs rss <"$work/time"; tool_times+=("$secs"); tool_rss+=("$rss")
  grep -q "md5=$expected_md5" "$work/upload.out" || { echo "StorageKit upload MD5 mismatch: $(cat "$work/upload.out")" >&2; exit 1; }
  "$BIN/storagetool" delete --container bench --blob "kit-$round.bin" >/dev/null
  echo "round $round: curl ${curl_times[-1]} s, storagetool ${tool_times[-1]} s (${tool_rss[-1]} KiB peak)" >&2
done

python3 - "$SIZE_MIB" "${curl_times[*]}" "${tool_times[*]}" "${curl_rss[*]}" "${tool_rss[*]}" <<'PY'
import statistics, sys
size = int(sys.argv[1]); ct = [float(x) for x in sys.argv[2].split()]; tt = [float(x) for x in sys.argv[3].split()]
cr = [int(x) for x in sys.argv[4].split()]; tr = [int(x) for x in sys.argv[5].split()]
mc, mt = statistics.median(ct), statistics.median(tt)
ratio = (size / mt) / (size / mc)
peak = max(tr) / 1024
print(f"\n| {size} MiB upload into devstorage | median s | MiB/s | peak RSS MiB |")
print("|---|---:|---:|---:|")
print(f"| curl -T (Put Blob, write SAS)   | {mc:.2f} | {size/mc:.0f} | {max(cr)/1024:.1f} |")
print(f"| StorageKit staged upload (pipe) | {mt:.2f} | {size/mt:.0f} | {peak:.1f} |")
print(f"\nthroughput ratio StorageKit/curl: {ratio:.2f} (goal ≥ 0.5); StorageKit peak RSS {peak:.1f} MiB (goal ≤ 96)")
ok = ratio >= 0.5 and peak <= 96
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
