#!/usr/bin/env bash
# bench/images.sh — the image processor beside vipsthumbnail (libvips) and Pillow, in one run, on the
# same real photos (mate-backgrounds), doing the same job: apply EXIF orientation, fit inside
# 2048×2048 (never enlarge), WebP quality 85, method/effort 4, no metadata.
#  1. per photo: interleaved rounds (processor, vips, Pillow, processor, …) under /usr/bin/time;
#     median wall time and peak RSS of each; SSIM (luma, against a high-precision Lanczos resize of
#     the original to each output's size) and bytes of the processor's and vips's WebPs.
#     CPU (user + sys) of each run too: issue 19's goal is the processor at ≤ 0.85× vips's CPU.
#  2. throughput: every photo, two processes at a time, processor vs vipsthumbnail.
#  2b. all photos in one process: `processor process` on every photo vs `vipsthumbnail` on every
#     photo, TP_ROUNDS rounds: CPU per image (start-up paid once) and wall.
#  3. the AVIF row (bench/images_avif.py): per photo, the processor's image.avif (profile image.avif,
#     libaom speed $AVIF_SPEED, default 6) at the lowest quality whose SSIM reaches its image.webp's
#     (bisection), against that WebP: bytes ratio at equal SSIM and encode-time ratio (the processor's
#     own timings of each encoder); informational, no goal.
# The numbers, SSIM and tables come from bench/images_compare.py. Exits non-zero unless the median
# time ratio processor/vips is ≤ 1.0 and processor/Pillow ≤ 0.6, and on every photo the processor's
# SSIM is ≥ vips's − 0.002 and its bytes ≤ 1.03 × vips's (and every output has the expected size).
#
#   BIN=.build/release bash bench/images.sh
#   LIMIT=3 ROUNDS=2 bash bench/images.sh
#   PHOTOS='/path/to/*.jpg' bash bench/images.sh
#   COMPARE_ISOLATION=1 bash bench/images.sh   (also `processor process --isolation none`, interleaved
#     in the same rounds, and a table of what crash isolation costs per photo, paired by round)
#   ONLY=avif LIMIT=3 bash bench/images.sh   (the AVIF row alone; AVIF=0 leaves it out of a full run)
#   PROCESSOR_CMD='… {in} … {out} …' bash bench/images.sh   (a stand-in for the processor: {in} is the
#     photo, {out} the directory that must receive {out}/<photo stem>/image.webp)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
export LC_ALL=C  # $EPOCHREALTIME with a `.`
BIN=${BIN:-.build/release}
PHOTOS=${PHOTOS:-/usr/share/backgrounds/mate/nature/*.jpg}
LIMIT=${LIMIT:-0}
ROUNDS=${ROUNDS:-5}
TP_ROUNDS=${TP_ROUNDS:-3}
PROFILE=${PROFILE:-bench/profiles/fit2048.json}
PY=${PY:-.venv/bin/python}
PROCESSOR_CMD=${PROCESSOR_CMD:-}
ONLY=${ONLY:-}
AVIF=${AVIF:-1}
AVIF_SPEED=${AVIF_SPEED:-6}
AVIF_ROUNDS=${AVIF_ROUNDS:-2}
# The tools timed in each round: with COMPARE_ISOLATION=1 the processor runs both ways
# (`unisolated`: --isolation none, decoding in its own process).
tools=(processor vips pillow)
[[ ${COMPARE_ISOLATION:-0} == 1 && -z $PROCESSOR_CMD ]] && tools=(processor unisolated vips pillow)
work=$(mktemp -d /tmp/bench-images.XXXXXX)
trap 'rm -rf "$work"' EXIT
shopt -u patsub_replacement 2>/dev/null || true  # a literal `&` in a path stays literal below

photo_set  # $PHOTOS (first $LIMIT) → photos[], checked; vipsthumbnail and $PY checked
if [[ -z $PROCESSOR_CMD ]]; then
  [[ -x $BIN/processor ]] || { echo "$BIN/processor missing: swift build -c release --product processor" >&2; exit 1; }
  [[ -f $PROFILE ]] || { echo "$PROFILE missing" >&2; exit 1; }
fi

# The AVIF row (needs the processor itself, not a stand-in).
avif_row() {
  [[ -z $PROCESSOR_CMD ]] || { echo "AVIF row skipped: PROCESSOR_CMD is a stand-in" >&2; return 0; }
  echo "AVIF row: ${#photos[@]} photos, speed $AVIF_SPEED…" >&2
  "$PY" bench/images_avif.py "$BIN/processor" "$PROFILE" "$AVIF_ROUNDS" "$AVIF_SPEED" "${photos[@]}"
}
if [[ $ONLY == avif ]]; then avif_row; exit; fi

# vips_cmd OUT PHOTO…: sets `cmd` to vipsthumbnail doing the job on the photos, writing OUT (one
# photo's path, or a `%s` pattern for several). `>`: only ever shrink. vipsthumbnail rotates by EXIF
# orientation unless --no-rotate. OUT must be absolute (a relative one is taken relative to the photo's directory).
vips_cmd() {
  local out=$1
  shift
  cmd=(vipsthumbnail "$@" --size '2048x2048>' -o "${out}[Q=85,effort=4,strip]")
}
# tool_cmd TOOL PHOTO DIR: sets `cmd` to the command that makes DIR/<photo stem>/image.webp.
tool_cmd() {
  local tool=$1 in=$2 dir=$3 stem
  stem=$(basename "${in%.*}")
  case $tool in
    processor) processor_cmd "$in" "$dir" ;;
    unisolated) ISOLATION=none processor_cmd "$in" "$dir" ;;
    vips) vips_cmd "$dir/$stem/image.webp" "$in" ;;
    pillow) cmd=("$PY" bench/images_compare.py pillow "$in" "$dir/$stem/image.webp") ;;
  esac
}
# run_tool TOOL PHOTO DIR: the same, run (for xargs).
run_tool() {
  local cmd
  tool_cmd "$@"
  if [[ $1 == processor || $1 == unisolated ]]; then mkdir -p "$3"; else mkdir -p "$3/$(basename "${2%.*}")"; fi
  exec "${cmd[@]}"
}
export -f vips_cmd tool_cmd run_tool processor_cmd
export BIN PROFILE PY PROCESSOR_CMD ISOLATION

# cpu_sum USER SYS: CPU seconds (user + sys, as /usr/bin/time's %U and %S give them).
cpu_sum() { awk -v u="$1" -v s="$2" 'BEGIN { printf "%.2f", u + s }'; }

out=$work/out  # out/<tool>/<stem>/image.webp
echo "warming up each tool once…" >&2
for tool in "${tools[@]}"; do
  ( run_tool "$tool" "${photos[0]}" "$work/warm/$tool" ) >/dev/null
done

: >"$work/runs.tsv"
for photo in "${photos[@]}"; do
  stem=$(basename "${photo%.*}")
  declare -A took=()
  for round in $(seq 1 "$ROUNDS"); do
    for tool in "${tools[@]}"; do
      rm -rf "${out:?}/$tool/$stem"
      if [[ $tool == processor || $tool == unisolated ]]; then mkdir -p "$out/$tool"; else mkdir -p "$out/$tool/$stem"; fi
      tool_cmd "$tool" "$photo" "$out/$tool"
      t0=$EPOCHREALTIME
      /usr/bin/time -f "%e %M %U %S" -o "$work/time" "${cmd[@]}" >"$work/tool.log" 2>&1 || \
        { echo "$tool failed on $photo:" >&2; cat "$work/tool.log" >&2; exit 1; }
      t1=$EPOCHREALTIME
      [[ -s $out/$tool/$stem/image.webp ]] || { echo "$tool wrote no $out/$tool/$stem/image.webp" >&2; exit 1; }
      read -r _ rss user sys < <(tail -n1 "$work/time")
      us=$((${t1/./} - ${t0/./}))  # wall with µs resolution (time's %e has 10 ms: 5 % of a small photo)
      secs=$(printf '%d.%06d' $((us / 1000000)) $((us % 1000000)))
      printf '%s\t%s\t%s\t%s\t%s\n' "$photo" "$tool" "$secs" "$rss" "$(cpu_sum "$user" "$sys")" >>"$work/runs.tsv"
      took[$tool]+=" ${secs%???}"
    done
  done
  echo "$stem: processor${took[processor]},${took[unisolated]:+ unisolated${took[unisolated]},} vips${took[vips]}, Pillow${took[pillow]} s" >&2
  unset took
done

# Throughput: every photo through one tool, two processes at a time; the tools alternate by round.
echo "throughput: ${#photos[@]} photos, 2 at a time, $TP_ROUNDS rounds…" >&2
: >"$work/throughput.tsv"
for round in $(seq 1 "$TP_ROUNDS"); do
  for tool in processor vips; do
    rm -rf "$work/tp"
    printf '%s\0' "${photos[@]}" | /usr/bin/time -f "%e" -o "$work/time" \
      xargs -0 -n1 -P2 bash -c 'run_tool "$1" "$3" "$2" >/dev/null' _ "$tool" "$work/tp/$tool" || \
      { echo "$tool failed in the throughput run" >&2; exit 1; }
    made=$(find "$work/tp/$tool" -name image.webp | wc -l)
    ((made == ${#photos[@]})) || { echo "$tool made $made of ${#photos[@]} WebPs" >&2; exit 1; }
    printf '%s\t%s\t%s\t%s\n' "$tool" "$round" "$(tail -n1 "$work/time")" "${#photos[@]}" >>"$work/throughput.tsv"
    echo "round $round: $tool $(tail -n1 "$work/time") s" >&2
  done
done

# All photos in one process: `processor process` on every photo vs `vipsthumbnail` on every photo
# (start-up paid once); CPU (user + sys) and wall, the tools alternating by round.
echo "all photos in one process: ${#photos[@]} photos, $TP_ROUNDS rounds…" >&2
: >"$work/batch.tsv"
for round in $(seq 1 "$TP_ROUNDS"); do
  for tool in processor vips; do
    rm -rf "$work/batch" && mkdir -p "$work/batch"
    if [[ $tool == processor ]]; then
      if [[ -n $PROCESSOR_CMD ]]; then echo "all-in-one row skipped: PROCESSOR_CMD is a stand-in" >&2; break 2; fi
      cmd=("$BIN/processor" process "${photos[@]}" --out "$work/batch" --profile "$PROFILE" --isolation "${ISOLATION:-process}")
    else
      vips_cmd "$work/batch/%s.webp" "${photos[@]}"
    fi
    /usr/bin/time -f "%e %U %S" -o "$work/time" "${cmd[@]}" >"$work/tool.log" 2>&1 || \
      { echo "$tool failed on all photos in one process:" >&2; cat "$work/tool.log" >&2; exit 1; }
    made=$(find "$work/batch" -name '*.webp' | wc -l)
    ((made == ${#photos[@]})) || { echo "$tool made $made of ${#photos[@]} WebPs in one process" >&2; exit 1; }
    read -r wall user sys < <(tail -n1 "$work/time")
    printf '%s\t%s\t%s\t%s\t%s\n' "$tool" "$round" "$wall" "$(cpu_sum "$user" "$sys")" "${#photos[@]}" >>"$work/batch.tsv"
    echo "round $round: $tool ${wall} s wall, $(cpu_sum "$user" "$sys") CPU-s" >&2
  done
done

echo "computing SSIM…" >&2
status=0
"$PY" bench/images_compare.py report "$work/runs.tsv" "$out" "$work/throughput.tsv" "$work/batch.tsv" || status=$?
if [[ $AVIF != 0 ]]; then avif_row; fi
exit "$status"
