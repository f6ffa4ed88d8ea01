#!/usr/bin/env bash
# Started by `make run`: devstorage, the uploader and the processor on this machine, in the
# foreground; Ctrl-C stops them all.
set -euo pipefail
BIN=${BIN:-.build/debug}
HOST=${DEVSTORAGE_HOST:-127.0.0.1}
BLOB_PORT=${DEVSTORAGE_BLOB_PORT:-10000}
QUEUE_PORT=${DEVSTORAGE_QUEUE_PORT:-10001}
DATA_DIR=${DEVSTORAGE_DATA_DIR:-.devstorage}
mkdir -p .run

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

wait_for_port() {
  local port=$1 name=$2
  for _ in $(seq 1 100); do
    if (exec 3<>/dev/tcp/"$HOST"/"$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$name did not start listening on $HOST:$port; see .run/$name.log" >&2
  exit 1
}

if [ -z "${AZURE_STORAGE_CONNECTION_STRING:-}" ]; then
  DEVSTORAGE_HOST=$HOST DEVSTORAGE_BLOB_PORT=$BLOB_PORT DEVSTORAGE_QUEUE_PORT=$QUEUE_PORT DEVSTORAGE_DATA_DIR=$DATA_DIR \
    "$BIN/devstorage" >.run/devstorage.log 2>&1 &
  pids+=($!)
  wait_for_port "$BLOB_PORT" devstorage
  wait_for_port "$QUEUE_PORT" devstorage
  export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://$HOST:$BLOB_PORT/devstoreaccount1;QueueEndpoint=http://$HOST:$QUEUE_PORT/devstoreaccount1;"
  storage_note="devstorage (Azure-compatible Blob + Queue, data in $DATA_DIR) on http://$HOST:$BLOB_PORT and :$QUEUE_PORT"
else
  storage_note="the Azure account in AZURE_STORAGE_CONNECTION_STRING"
fi

# The uploader: keys from UPLOADER_API_KEYS, else one generated for this machine (kept in .run/api-key).
if [ -z "${UPLOADER_API_KEYS:-}" ]; then
  [ -s .run/api-key ] || (head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 > .run/api-key)
  UPLOADER_API_KEYS=$(cat .run/api-key)
fi
API_KEY=${UPLOADER_API_KEYS%%,*}
UPLOADER_HOST=${UPLOADER_HOST:-127.0.0.1}
UPLOADER_PORT=${UPLOADER_PORT:-8080}
UPLOADER_API_KEYS=$UPLOADER_API_KEYS UPLOADER_HOST=$UPLOADER_HOST UPLOADER_PORT=$UPLOADER_PORT \
  "$BIN/uploader" >.run/uploader.log 2>&1 &
pids+=($!)
wait_for_port "$UPLOADER_PORT" uploader
URL="http://$([ "$UPLOADER_HOST" = 0.0.0.0 ] && echo localhost || echo "$UPLOADER_HOST"):$UPLOADER_PORT"

# The processor: health and metrics on 127.0.0.1:8081.
PROCESSOR_HOST=${PROCESSOR_HOST:-127.0.0.1} PROCESSOR_PORT=${PROCESSOR_PORT:-8081} \
  "$BIN/processor" serve >.run/processor.log 2>&1 &
pids+=($!)
wait_for_port "${PROCESSOR_PORT:-8081}" processor
SAMPLE=$(ls /usr/share/backgrounds/mate/nature/*.jpg 2>/dev/null | head -1 || true)
SAMPLE=${SAMPLE:-./photo.jpg}

cat <<MSG

  MediaPipeline is running against $storage_note.
  Logs: .run/*.log     Stop: Ctrl-C

  Open $URL/ in a browser (API key: $API_KEY)
  or upload from the command line:
    curl -H 'X-API-Key: $API_KEY' -F "file=@$SAMPLE" $URL/upload
  then follow the job with the statusUrl it returns (processed in a second or two):
    curl -H 'X-API-Key: $API_KEY' $URL/jobs/<jobId>
  Processor health and metrics: http://127.0.0.1:${PROCESSOR_PORT:-8081}/metrics

  Connection string (any Azure tool or SDK works with it):
    export AZURE_STORAGE_CONNECTION_STRING='$AZURE_STORAGE_CONNECTION_STRING'

  Storage from the command line:
    echo hello > /tmp/hello.txt
    $BIN/storagetool put --container demo --blob hello.txt --file /tmp/hello.txt
    $BIN/storagetool list --container demo
    curl -s "\$($BIN/storagetool sas --container demo --blob hello.txt)"

MSG
wait -n "${pids[@]}"
