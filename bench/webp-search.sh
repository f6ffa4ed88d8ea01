#!/usr/bin/env bash
# bench/webp-search.sh — search libwebp's encoder knobs (the profile's image.webp section: method, sns,
# filterStrength, filterSharpness, segments, partitions, pass, preprocessing, sharpYUV, threadLevel,
# with quality bisected per candidate) for the least CPU per photo at vipsthumbnail's quality and size,
# on any photo set. The job is bench/images.sh's: EXIF orientation, fit 2048×2048, WebP, no metadata;
# the processor runs as shipped (`processor process` on each photo, PROFILE's box with the candidate's
# webp section) and vipsthumbnail (q85, effort 4) is the reference. A candidate counts only if on EVERY
# photo its SSIM is ≥ vips's − 0.002 and its bytes ≤ 1.03 × vips's; the table ranks those by the median
# over photos of CPU (user + sys) per photo / vipsthumbnail's, measured in interleaved rounds.
# How the search goes: bench/webp_search.py. Prints the table and the winner's profile values; exits 1
# when no candidate qualifies. Details (every candidate, per photo) in $OUT.
#
#   bash bench/webp-search.sh
#   LIMIT=6 BUDGET=25 bash bench/webp-search.sh
#   PHOTOS='/path/to/*.jpg' ROUNDS=3 OUT=/tmp/search.json bash bench/webp-search.sh
#   BIN=.build-rel-webp/release bash bench/webp-search.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN=${BIN:-.build/release}
PHOTOS=${PHOTOS:-/usr/share/backgrounds/mate/nature/*.jpg}
LIMIT=${LIMIT:-0}
PROFILE=${PROFILE:-bench/profiles/fit2048.json}
PY=${PY:-.venv/bin/python}
OUT=${OUT:-/tmp/webp-search.json}
export BUDGET=${BUDGET:-40} ROUNDS=${ROUNDS:-5} FINALISTS=${FINALISTS:-6} Q_STEP=${Q_STEP:-0.5} ISOLATION=${ISOLATION:-process}

photo_set  # $PHOTOS (first $LIMIT) → photos[], checked; vipsthumbnail and $PY checked
[[ -x $BIN/processor ]] || { echo "$BIN/processor missing: swift build -c release --product processor" >&2; exit 1; }
[[ -f $PROFILE ]] || { echo "$PROFILE missing" >&2; exit 1; }
"$BIN/processor" process --help >/dev/null

# Photos as absolute paths (vipsthumbnail takes a relative output path relative to the photo).
abs=()
for p in "${photos[@]}"; do abs+=("$(realpath "$p")"); done
exec "$PY" bench/webp_search.py "$BIN/processor" "$PROFILE" "$OUT" "${abs[@]}"
