#!/usr/bin/env bash
# The fuzz targets and the sanitized media check (called by `make fuzz`, `make test-fuzz` and
# `make test-sanitized`; run from the repository root).
#
#   Fuzz/fuzz.sh build               build Fuzz/ into .build-fuzz (ASan everywhere, libFuzzer's
#                                    coverage on Swift, UBSan + coverage on C)
#   Fuzz/fuzz.sh inputs              make the seed corpora and fixtures (.build-fuzz/inputs)
#   Fuzz/fuzz.sh run SECONDS [T…]    fuzz each target (default: all) for SECONDS; fails on any
#                                    crash, leak, timeout, OOM or broken invariant, keeping the
#                                    input under .build-fuzz/findings/<target>/
#   Fuzz/fuzz.sh check               the sanitized check over every real and hostile fixture
#
# FUZZ_JOBS (default 2) targets run at once; FUZZ_SEED fixes libFuzzer's seed (make test-fuzz does:
# the short CI runs are then the same from run to run, and exploring is `make fuzz`'s job).
# Per-target results go to .build-fuzz/fuzz-report.txt.
set -euo pipefail

BUILD=${FUZZ_BUILD:-.build-fuzz}
BIN=$BUILD/debug
INPUTS=$BUILD/inputs
PY=${PY:-.venv/bin/python}
JOBS=${FUZZ_JOBS:-2}
TARGETS=(sniff jpeg png webp gif heif video audio)

# Sanitizer reports stop the process with a non-zero status (libFuzzer then keeps the input).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=0:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# Swift's own crash backtracer reads memory in ways ASan reports as a second, bogus error.
export SWIFT_BACKTRACE=enable=no
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/Fuzz/lsan.supp:print_suppressions=0}

binary() {
  case $1 in
    sniff) echo FuzzSniff ;; jpeg) echo FuzzJPEG ;; png) echo FuzzPNG ;; webp) echo FuzzWebP ;;
    gif) echo FuzzGIF ;; heif) echo FuzzHEIF ;; video) echo FuzzVideo ;; audio) echo FuzzAudio ;;
    *) echo "unknown target $1" >&2; return 1 ;;
  esac
}

build() {
  # -sanitize=fuzzer instruments the Swift code (and links libFuzzer); -fsanitize=fuzzer-no-link
  # does the same for the C targets, which also get UBSan (Swift has no -sanitize=undefined on
  # Linux; its own arithmetic and bounds are checked by the language). lld: gold cannot link
  # this mix. Debian's codec libraries themselves are not instrumented.
  swift build --package-path Fuzz --build-path "$BUILD" --sanitize=address \
    -Xswiftc -sanitize=fuzzer -Xswiftc -use-ld=lld \
    -Xcc -fsanitize=fuzzer-no-link,undefined -Xcc -fno-sanitize-recover=undefined 2>&1 \
    | grep -v "Cannot export local symbol" || { echo "fuzz build failed" >&2; exit 1; }
  test -x "$BIN/MediaCheck"
}

# Made once, and again whenever the script or the interop recipes it imports change.
inputs() {
  local stamp
  stamp=$(cat Fuzz/make-inputs.py Tests/interop/conftest.py Tests/interop/test_images.py | sha256sum | cut -c1-16)
  [ "$(cat "$INPUTS/.stamp" 2>/dev/null)" = "$stamp" ] && return 0
  rm -rf "$INPUTS"
  "$PY" Fuzz/make-inputs.py "$INPUTS"
  echo "$stamp" > "$INPUTS/.stamp"
}

# One target: its libFuzzer log, and a report line from libFuzzer's own final statistics.
run_one() {
  local target=$1 seconds=$2
  local exe corpus findings log timeout max_len
  exe=$BIN/$(binary "$target")
  corpus=$BUILD/corpus/$target
  findings=$BUILD/findings/$target
  log=$BUILD/logs/$target.log
  mkdir -p "$corpus" "$findings" "$(dirname "$log")"
  case $target in
    video|audio) timeout=30; max_len=131072 ;;
    sniff) timeout=10; max_len=4096 ;;
    *) timeout=10; max_len=65536 ;;
  esac
  local dict=Fuzz/dicts/$target.dict
  if [ "$target" = sniff ]; then  # every format's tokens
    dict=$BUILD/sniff.dict
    cat Fuzz/dicts/*.dict > "$dict"
  fi
  local before status=0 leaks=0
  # libFuzzer's artifacts that are findings (a `slow-unit-*` is only an input that took long on a
  # loaded machine: not counted).
  before=$(ls "$findings" | grep -vc '^slow-unit-' || true)
  # Fuzzing runs with libFuzzer's per-input leak check off (LeakSanitizer after every input that
  # allocates more than it frees made it six times slower); then every input of the corpus,
  # old and new, is run once more with leak detection on. The corpus directory comes first: new
  # inputs are written there; the seeds are only read.
  "$exe" "$corpus" "$INPUTS/seeds/$target" -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2560 \
    -malloc_limit_mb=2048 -max_len="$max_len" -detect_leaks=0 -print_final_stats=1 -dict="$dict" ${FUZZ_SEED:+-seed=$FUZZ_SEED} \
    -artifact_prefix="$findings/" >"$log" 2>&1 || status=$?
  # A crash whose first frame outside the sanitizer runtime and libFuzzer lies in a library listed
  # for this target in Fuzz/known-defects.tsv is that library's documented defect (Fuzz/README.md:
  # Debian 12's libheif 1.15.1 writes out of bounds on some mutated files; in the processor the
  # child contains it). It ends this target's fuzzing early but does not fail it (its input stays in
  # findings); the leak pass still runs. Anything else (a frame of ours first, a timeout, a leak, an
  # RSS overflow) fails.
  local known=""
  if [ "$status" != 0 ] && [ $(( $(ls "$findings" | grep -vc '^slow-unit-' || true) - before )) = 1 ] \
      && known=$(known_defect "$target" "$log"); then
    status=0
    before=$((before + 1))
  fi
  if [ "$status" = 0 ]; then
    "$exe" "$corpus" "$INPUTS/seeds/$target" -runs=0 -timeout="$timeout" -rss_limit_mb=2560 -detect_leaks=1 \
      -artifact_prefix="$findings/" >"$log.leaks" 2>&1 || { status=$?; leaks=1; cat "$log.leaks" >> "$log"; }
  fi
  local execs cov ft found
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  found=$(( $(ls "$findings" | grep -vc '^slow-unit-' || true) - before ))
  [ "$leaks" = 0 ] || execs="$execs+leak-pass"
  local verdict=ok
  [ -z "$known" ] || verdict="ok (fuzzing stopped at a known defect: $known)"
  if [ "$status" != 0 ] || [ "$found" != 0 ]; then
    verdict="FAILED (exit $status; $(grep -m1 -oE 'ERROR: [A-Za-z]+: [^ ]+( [^ ]+)?|FINDING: .{0,120}|Fatal error: .{0,120}|deadly signal|timeout after [0-9]+ seconds|out-of-memory \([^)]*\)' "$log" || echo "see $log"))"
  fi
  printf '%-6s %4ss  executions %-9s cov %-6s ft %-6s findings %s  %s\n' \
    "$target" "$seconds" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$found" "$verdict"
  [ "${verdict%% *}" = ok ]
}

# known_defect TARGET LOG: prints the known-defects.tsv entry that the log's first sanitizer or
# libFuzzer report belongs to (its first frame outside the runtimes and the C/C++ libraries lies in
# the entry's library), or fails.
known_defect() {
  local target=$1 log=$2 frame library reason
  frame=$(awk '/ERROR: (AddressSanitizer|libFuzzer): (SEGV|heap-buffer-overflow|out-of-memory \(malloc)/ { on = 1; next }
               on && /^ *#[0-9]+ / && !/(libclang_rt|asan_|sanitizer|fuzzer::|MallocHook|RunMallocHooks|operator new|libstdc\+\+|libc\.so|libgcc)/ { print; exit }' "$log")
  [ -n "$frame" ] || return 1
  while IFS=$'\t' read -r t library reason; do
    [ "$t" = "$target" ] || continue
    case $frame in *"/$library"*) echo "$library: $reason"; return 0 ;; esac
  done < <(grep -v '^#' Fuzz/known-defects.tsv)
  return 1
}

run() {
  local seconds=$1; shift
  local targets=("$@")
  [ ${#targets[@]} -gt 0 ] || targets=("${TARGETS[@]}")
  export -f run_one binary known_defect
  export BUILD BIN INPUTS FUZZ_SEED
  local report=$BUILD/fuzz-report.txt status=0
  printf '%s\n' "${targets[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_one "$1" "$2"' _ {} "$seconds" > "$report.new" || status=$?
  sort "$report.new" > "$report" && rm -f "$report.new"
  cat "$report"
  if [ "$status" != 0 ]; then
    echo "fuzzing found problems: inputs under $BUILD/findings/, logs under $BUILD/logs/" >&2
    for target in "${targets[@]}"; do
      grep -q FAILED <(grep "^$target " "$report") && tail -40 "$BUILD/logs/$target.log" >&2
    done
    return 1
  fi
}

check() {
  local log=$BUILD/logs/media-check.log
  mkdir -p "$(dirname "$log")"
  local status=0
  "$BIN/MediaCheck" "$INPUTS/fixtures/manifest.tsv" >"$log" 2>&1 || status=$?
  grep -E '^(pass|FAIL) ' "$log" || true
  # Zero sanitizer reports: any report fails the check even if the process went on.
  if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log"; then
    grep -E -A30 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log" | head -80 >&2
    echo "sanitizer reports in $log" >&2
    return 1
  fi
  if [ "$status" != 0 ]; then
    tail -40 "$log" >&2
    return 1
  fi
  grep -E '^media check: ' "$log"
}

case ${1:-} in
  build) build ;;
  inputs) inputs ;;
  run) shift; run "$@" ;;
  check) check ;;
  *) sed -n '2,14p' "$0"; exit 2 ;;
esac
