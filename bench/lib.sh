# bench/lib.sh — shared by the bench scripts: free ports, waiting for a port, a devstorage on free
# ports with its connection string exported, the processor's one-shot command, and the photo benches' checked photo set. Source it after
# setting BIN and work.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() {
  for _ in $(seq 1 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done
  echo "port $1 never opened" >&2
  exit 1
}

# Starts devstorage with its data in $work/data; sets devpid and exports AZURE_STORAGE_CONNECTION_STRING.
start_devstorage() {
  local blob_port queue_port
  blob_port=$(free_port); queue_port=$(free_port)
  DEVSTORAGE_HOST=127.0.0.1 DEVSTORAGE_BLOB_PORT=$blob_port DEVSTORAGE_QUEUE_PORT=$queue_port \
    DEVSTORAGE_DATA_DIR="$work/data" DEVSTORAGE_LOG_LEVEL=warning "$BIN/devstorage" >"$work/devstorage.log" 2>&1 &
  devpid=$!
  wait_port "$blob_port"; wait_port "$queue_port"
  export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$blob_port/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$queue_port/devstoreaccount1;"
}

# processor_cmd INPUT DIR: sets `cmd` to `processor process INPUT --out DIR --profile $PROFILE
# --isolation $ISOLATION` (default `process`, as the daemon runs; `none` decodes in the process), or to
# $PROCESSOR_CMD, a stand-in where {in}, {stem} and {out} are replaced by the input, its name
# without extension and DIR (the stand-in must write DIR/<stem>/… as the processor does).
processor_cmd() {
  local in=$1 dir=$2 stem
  stem=$(basename "${in%.*}")
  if [[ -n ${PROCESSOR_CMD:-} ]]; then
    local c=${PROCESSOR_CMD//\{in\}/$(printf %q "$in")}
    c=${c//\{stem\}/$(printf %q "$stem")}
    cmd=(bash -c "${c//\{out\}/$(printf %q "$dir")}")
  else
    cmd=("$BIN/processor" process "$in" --out "$dir" --profile "$PROFILE" --isolation "${ISOLATION:-process}")
  fi
}

# The photo benches' inputs: $PHOTOS (a glob or a list; the first $LIMIT when LIMIT > 0) into the
# array `photos`, each an existing file with a distinct stem (outputs go to <stem>/image.webp);
# vipsthumbnail and $PY (Pillow, numpy, scipy) present. Exits on the first problem.
photo_set() {
  # shellcheck disable=SC2206
  photos=($PHOTOS)  # expands a glob, splits a list
  if ((LIMIT > 0)); then photos=("${photos[@]:0:LIMIT}"); fi
  local p dups
  for p in "${photos[@]}"; do [[ -f $p ]] || { echo "no such photo: $p" >&2; exit 1; }; done
  ((${#photos[@]} > 0)) || { echo "no photos" >&2; exit 1; }
  dups=$(for p in "${photos[@]}"; do basename "${p%.*}"; done | sort | uniq -d)
  [[ -z $dups ]] || { echo "photos must have distinct names (outputs go to <stem>/image.webp): $dups" >&2; exit 1; }
  command -v vipsthumbnail >/dev/null || { echo "vipsthumbnail missing: apt-get install libvips-tools" >&2; exit 1; }
  "$PY" -c 'import PIL, numpy, scipy' || { echo "$PY needs Pillow, numpy and scipy" >&2; exit 1; }
}
