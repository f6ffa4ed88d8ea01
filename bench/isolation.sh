#!/usr/bin/env bash
# bench/isolation.sh — what decoding each file in a child process costs: `processor process` with
# `--isolation process` (the default, as the daemon runs jobs: a child forked by the fork server) beside `--isolation none` (in the
# process), interleaved, on the same inputs: a small photo, the largest mate-backgrounds photo
# (5640×3172, 17.9 MP), a 20 MP photo made from it, and a 10 s 1080p clip. Prints the median wall time
# of each and the difference per job; and the peak RSS of one image job in a child against the pixel
# budget (20 MP photo, and a 200 MiB junk JPEG at the image byte cap).
#
#   BIN=.build/release bash bench/isolation.sh
#   ROUNDS=9 bash bench/isolation.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
ROUNDS=${ROUNDS:-7}
PY=${PY:-.venv/bin/python}
work=$(mktemp -d /tmp/bench-isolation.XXXXXX)
trap 'rm -rf "$work"' EXIT
[[ -x $BIN/processor ]] || { echo "$BIN/processor missing: swift build -c release --product processor" >&2; exit 1; }

big=/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg
[[ -f $big ]] || { echo "$big missing: apt-get install mate-backgrounds" >&2; exit 1; }
"$PY" - "$big" "$work" <<'EOF'
import sys
from PIL import Image
big, work = sys.argv[1], sys.argv[2]
image = Image.open(big).convert("RGB")
image.resize((5472, 3648), Image.LANCZOS).save(f"{work}/photo20mp.jpg", quality=92)
small = image.copy()
small.thumbnail((1024, 1024))
small.save(f"{work}/small.jpg", quality=90)
EOF
cp "$big" "$work/photo18mp.jpg"
ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=s=1920x1080:r=30:d=10 -f lavfi -i sine=d=10 \
  -c:v libx264 -preset veryfast -crf 18 -c:a aac "$work/clip1080p.mp4"
# 200 MiB that starts like a JPEG (and is nothing else): the largest image the processor accepts.
{ printf '\xff\xd8\xff\xe0'; head -c $((200 * 1024 * 1024 - 4)) /dev/urandom; } >"$work/junk.jpg"

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
seconds() {  # seconds MODE INPUT: one run's wall time
  local t0 t1
  rm -rf "$work/out"
  t0=$(date +%s%N)
  "$BIN/processor" process "$2" --out "$work/out" --isolation "$1" >/dev/null
  t1=$(date +%s%N)
  echo "scale=4; ($t1 - $t0) / 1000000000" | bc
}

printf '%-16s %12s %12s %12s %8s\n' input "none (s)" "process (s)" "cost (ms)" ratio
for input in small.jpg photo18mp.jpg photo20mp.jpg clip1080p.mp4; do
  : >"$work/none"; : >"$work/process"
  seconds process "$work/$input" >/dev/null  # warm the page cache
  for _ in $(seq 1 "$ROUNDS"); do
    seconds none "$work/$input" >>"$work/none"
    seconds process "$work/$input" >>"$work/process"
  done
  n=$(median <"$work/none"); p=$(median <"$work/process")
  printf '%-16s %12.3f %12.3f %12.0f %8.3f\n' "$input" "$n" "$p" "$(echo "($p - $n) * 1000" | bc)" "$(echo "scale=4; $p / $n" | bc)"
done

# Peak RSS of one image job: `time`'s %M is the largest of the processor, its fork server and the
# job's child (the processor's own RSS does not grow with the file). The pixel budget: the decoded
# picture at 3 bytes per pixel.
echo
printf '%-16s %14s %16s %s\n' input "peak RSS (MiB)" "pixels (MiB)" outcome
for input in small.jpg photo20mp.jpg junk.jpg; do
  rm -rf "$work/out"
  pixels=$("$PY" -c "
from PIL import Image
try:
    w, h = Image.open('$work/$input').size; print(f'{w * h * 3 / 2**20:.0f}')
except Exception:
    print('-')")
  /usr/bin/time -f "%M" -o "$work/rss" "$BIN/processor" process "$work/$input" --out "$work/out" --isolation process \
    >/dev/null 2>"$work/errors" && outcome=ok || outcome=$(grep -v '^[0-9]*$' "$work/errors" | tail -n1 | sed "s|^$work/||" | cut -c1-80)
  printf '%-16s %14.0f %16s %s\n' "$input" "$(echo "$(tail -n1 "$work/rss") / 1024" | bc -l)" "$pixels" "$outcome"
done
