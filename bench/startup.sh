#!/usr/bin/env bash
# bench/startup.sh — what starting the processor costs, and how much of it is loading codec libraries
# that a job does not use (issue 19 item 2). One hyperfine run (-N, interleaving is not possible in
# hyperfine: its commands run one after the other, so the run is repeated ROUNDS times and each
# round's ratios are printed) of, on a small photo (a 64×64 JPEG made with the ffmpeg CLI):
#   - `processor process <photo> --out DIR` with the default isolation (a forked child decodes) and
#     with `--isolation none`: the processor in BIN (libav*, libheif and libavif loaded when a job
#     needs them) and, when BEFORE names one, another build to compare (one linked against every
#     codec library, as before Sources/CMediaLibraries);
#   - `vipsthumbnail` on the same photo (fit 2048, WebP Q85 effort 4: the job of bench/images.sh), the peer;
#   - three trivial C programs (`int main(void){return 0;}`) linked with --no-as-needed against
#     (all) the processor's NEEDED libraries plus the six it loads when a job needs them
#     (libavformat, libavcodec, libavfilter, libswresample, libheif, libavif: the sonames in
#     Sources/CMediaLibraries/stubs.c), i.e. what it loaded at every start when it was linked against
#     them, (image) its NEEDED libraries alone, what an image job loads, and (libc) nothing: all −
#     image is what loading the six lazily saves per process start, measured apart from everything
#     the processor itself does.
# Then, per program: the dynamic loader's own count (LD_DEBUG=statistics: cycles, relocations),
# objects mapped, peak RSS and minor page faults (/usr/bin/time -v), and what one fork + exit + wait
# costs in a process with (all) and (image) loaded: the daemon's fork server forks one child per
# job, so that is what its loaded libraries cost per job.
# Exits non-zero if BIN's processor is still linked against one of the six, or a run wrote no output.
#
#   BIN=.build/release bash bench/startup.sh
#   BEFORE=/path/to/old/processor BIN=.build-rel-startup/release RUNS=40 ROUNDS=3 bash bench/startup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C
BEFORE=${BEFORE:-}
BIN=${BIN:-.build/release}
RUNS=${RUNS:-30}
ROUNDS=${ROUNDS:-2}
FORKS=${FORKS:-300}
LAZY='libavformat|libavcodec|libavfilter|libswresample|libheif|libavif'
work=$(mktemp -d /tmp/bench-startup.XXXXXX)
trap 'rm -rf "$work"' EXIT

for tool in hyperfine vipsthumbnail ffmpeg readelf cc /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "$tool missing: apt-get install hyperfine libvips-tools ffmpeg binutils gcc time" >&2; exit 1; }
done
processor=$BIN/processor
[[ -x $processor ]] || { echo "$processor missing: swift build -c release --static-swift-stdlib --product processor" >&2; exit 1; }
[[ -z $BEFORE || -x $BEFORE ]] || { echo "BEFORE=$BEFORE is not an executable" >&2; exit 1; }
if readelf -d "$processor" | grep -q 'NEEDED.*libswiftCore'; then
  echo "$processor links the Swift runtime dynamically: build it as it ships (swift build -c release --static-swift-stdlib)" >&2; exit 1
fi
if readelf -d "$processor" | grep -E "NEEDED.*($LAZY)" >&2; then echo "$processor is linked against the libraries above" >&2; exit 1; fi
mapfile -t lazy < <(sed -n 's/.*\[MP_LIBRARY_[A-Z]*\] = "\(.*\)",/\1/p' Sources/CMediaLibraries/stubs.c)
((${#lazy[@]} == 6)) || { echo "no lazily loaded sonames in Sources/CMediaLibraries/stubs.c" >&2; exit 1; }

ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=s=64x64 -frames:v 1 -q:v 3 "$work/small.jpg"
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
mapfile -t image < <(needed "$processor")
all=("${lazy[@]}" "${image[@]}")
echo 'int main(void) { return 0; }' >"$work/main.c"
cat >"$work/fork.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {  // forks argv[1] children one after the other: ms per fork + exit + wait
    int n = argc > 1 ? atoi(argv[1]) : 0;
    if (n <= 0) return 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) _exit(0);
        waitpid(pid, NULL, 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.3f\n", ((b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6) / n);
    return 0;
}
C
link() { local out=$1; shift; cc -O2 -o "$out" "$work/fork.c" -Wl,--no-as-needed "${@/#/-l:}"; }
link "$work/c-all" "${all[@]}"
link "$work/c-image" "${image[@]}"
link "$work/c-libc"
echo "C programs: all = ${#all[@]} NEEDED ($(ldd "$work/c-all" | wc -l) objects with their dependencies), image = ${#image[@]} NEEDED ($(ldd "$work/c-image" | wc -l) objects)" >&2

names=() cmds=()
add() { names+=("$1"); cmds+=("$2"); }
add "processor process" "$processor process $work/small.jpg --out $work/out-process"
add "processor none" "$processor process $work/small.jpg --out $work/out-none --isolation none"
if [[ -n $BEFORE ]]; then
  add "before process" "$BEFORE process $work/small.jpg --out $work/out-before"
  add "before none" "$BEFORE process $work/small.jpg --out $work/out-before-none --isolation none"
fi
add "vipsthumbnail" "vipsthumbnail $work/small.jpg --size 2048x2048> -o $work/vips.webp[Q=85,effort=4,strip]"
add "C all" "$work/c-all"
add "C image" "$work/c-image"
add "C libc" "$work/c-libc"

for round in $(seq 1 "$ROUNDS"); do
  args=()
  for i in "${!names[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
  echo "round $round of $ROUNDS: hyperfine, $RUNS runs each…" >&2
  hyperfine -N -w 3 -r "$RUNS" --style none --export-json "$work/round$round.json" "${args[@]}" >/dev/null
done
[[ -s $work/vips.webp ]] || { echo "vipsthumbnail wrote no $work/vips.webp" >&2; exit 1; }
for out in out-process out-none ${BEFORE:+out-before out-before-none}; do
  [[ -s $work/$out/small/image.webp ]] || { echo "no $work/$out/small/image.webp" >&2; exit 1; }
done

# The loader's own count, objects mapped, RSS and page faults of one run each (isolation none: one process).
probe() {  # probe NAME COMMAND…
  local name=$1 stats objects rss faults; shift
  stats=$(LD_DEBUG=statistics "$@" 2>&1 >/dev/null | tr -s ' \t' ' ')
  objects=$(LD_DEBUG=files "$@" 2>&1 >/dev/null | grep -c 'calling init:' || true)
  /usr/bin/time -v -o "$work/time" "$@" >/dev/null 2>&1
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time")
  faults=$(sed -n 's/.*Minor (reclaiming a frame) page faults: //p' "$work/time")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" \
    "$(sed -n 's/.*total startup time in dynamic loader: \([0-9]*\) cycles.*/\1/p' <<<"$stats" | head -1)" \
    "$(sed -n 's/.* final number of relocations: \([0-9]*\).*/\1/p' <<<"$stats" | head -1)" \
    "$(sed -n 's/.* number of relative relocations: \([0-9]*\).*/\1/p' <<<"$stats" | head -1)" \
    "$objects" "$rss $faults"
}
{
  probe "processor none" "$processor" process "$work/small.jpg" --out "$work/p1" --isolation none
  [[ -z $BEFORE ]] || probe "before none" "$BEFORE" process "$work/small.jpg" --out "$work/p2" --isolation none
  probe "vipsthumbnail" vipsthumbnail "$work/small.jpg" --size '2048x2048>' -o "$work/vips2.webp[Q=85,effort=4,strip]"
  probe "C all" "$work/c-all"
  probe "C image" "$work/c-image"
  probe "C libc" "$work/c-libc"
} >"$work/probe.tsv"

# fork + exit + wait, alternating, 3 times each.
: >"$work/forks.tsv"
for _ in 1 2 3; do
  for which in all image; do printf '%s\t%s\n' "$which" "$("$work/c-$which" "$FORKS")" >>"$work/forks.tsv"; done
done

python3 - "$work" "$ROUNDS" "$BEFORE" <<'PY'
import json, statistics, sys
work, rounds, before = sys.argv[1], int(sys.argv[2]), sys.argv[3] != ""
ms = lambda xs: statistics.median(xs) * 1000
print("\nWall time, median of each round (ms); user+sys CPU (ms) in brackets")
table = {}
for r in range(1, rounds + 1):
    for result in json.load(open(f"{work}/round{r}.json"))["results"]:
        table.setdefault(result["command"], []).append((ms(result["times"]), (result["user"] + result["system"]) * 1000))
width = max(map(len, table))
for name, cells in table.items():
    print(f"  {name:<{width}}  " + "  ".join(f"{w:7.1f} [{c:6.1f}]" for w, c in cells))
def ratio(a, b):
    return "  ".join(f"{x[0] / y[0]:6.3f}" for x, y in zip(table[a], table[b]))
print("\nRatios of medians, per round")
pairs = [("processor none", "vipsthumbnail"), ("processor process", "vipsthumbnail")]
if before:
    pairs = [("processor none", "before none"), ("processor process", "before process")] + pairs + \
        [("before none", "vipsthumbnail"), ("before process", "vipsthumbnail")]
pairs += [("C image", "C all")]
for a, b in pairs:
    print(f"  {a + ' / ' + b:<40} {ratio(a, b)}")
print("\nWhat lazy loading can save at most per process start (C all − C image), per round (ms):",
      "  ".join(f"{a[0] - b[0]:.1f}" for a, b in zip(table["C all"], table["C image"])))
if before:
    for mode in ("none", "process"):
        print(f"Saved on the small photo, isolation {mode} (before − processor), per round (ms):",
              "  ".join(f"{a[0] - b[0]:.1f} ({(a[0] - b[0]) / a[0]:.0%})" for a, b in zip(table[f"before {mode}"], table[f"processor {mode}"])))
print("\nOne run each: dynamic loader (LD_DEBUG=statistics), objects initialised, peak RSS, minor faults")
print(f"  {'':<{width}}  {'loader Mcycles':>14} {'relocations':>11} {'relative':>9} {'objects':>7} {'RSS MiB':>8} {'faults':>7}")
for line in open(f"{work}/probe.tsv"):
    name, cycles, relocs, relative, objects, rest = line.rstrip("\n").split("\t")
    rss, faults = rest.split()
    print(f"  {name:<{width}}  {int(cycles or 0) / 1e6:14.1f} {relocs:>11} {relative:>9} {objects:>7} {int(rss) / 1024:8.1f} {faults:>7}")
forks = {}
for line in open(f"{work}/forks.tsv"):
    which, value = line.split()
    forks.setdefault(which, []).append(float(value))
print("\nfork + exit + wait (ms, 3 alternating runs): " +
      "; ".join(f"{w}: " + " ".join(f"{v:.2f}" for v in vs) for w, vs in forks.items()) +
      f"; median all − image = {statistics.median(forks['all']) - statistics.median(forks['image']):.2f} ms per job in a fork server")
PY
