// MediaPipeline upload page: resumable uploads over tus 1.0 (`/files/`), plain JavaScript, no build
// step. A file is sent in CHUNK_BYTES pieces, each its own PATCH, so a dropped connection costs at
// most one piece: the upload asks the server for its offset (HEAD) and goes on from there, with
// backoff, for as long as the page is open. The upload's URL is remembered in localStorage under
// the file's fingerprint (name, size, last change), so after a reload choosing the same file again
// resumes it instead of starting over. The server keeps the upload's state in storage, so any
// uploader replica can continue it.
"use strict";

const Resumable = (() => {
  const STORE = "mediapipeline.resumable";
  const TUS = { "Tus-Resumable": "1.0.0" };
  const CHUNK_BYTES = 16 * 1024 * 1024;
  const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];

  function fingerprint(file) { return `${file.name}|${file.size}|${file.lastModified}`; }

  function remembered() {
    try { return JSON.parse(localStorage.getItem(STORE) || "{}"); } catch (_) { return {}; }
  }
  function remember(file, entry) {
    const all = remembered();
    if (entry) all[fingerprint(file)] = entry; else delete all[fingerprint(file)];
    localStorage.setItem(STORE, JSON.stringify(all));
  }

  function base64(text) { return btoa(String.fromCharCode(...new TextEncoder().encode(text))); }

  // One request; resolves with {status, headers(name), body} — status 0 when the network failed.
  function request(method, url, key, headers, body, onProgress, track) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("X-API-Key", key || "");
      for (const [name, value] of Object.entries({ ...TUS, ...headers })) xhr.setRequestHeader(name, value);
      if (onProgress) xhr.upload.onprogress = (event) => onProgress(event.loaded);
      const done = () => {
        let parsed = null;
        try { parsed = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
        resolve({ status: xhr.status, header: (name) => xhr.getResponseHeader(name), body: parsed });
      };
      xhr.onload = done;
      xhr.onerror = done;
      xhr.onabort = () => resolve({ status: -1, header: () => null, body: null });
      if (track) track(xhr);
      xhr.send(body);
    });
  }

  // Ends an upload on the server (tus termination). Retried while the server is busy or still
  // finishing a request this page just aborted (409); an upload already gone counts as ended.
  // Resolves with {ok, status, body}.
  async function terminate(url, key) {
    let answer = null;
    for (let attempt = 0; attempt < 5; attempt++) {
      answer = await request("DELETE", url, key, {}, null, null, null);
      if (answer.status === 204 || answer.status === 404 || answer.status === 410) return { ok: true, status: answer.status, body: null };
      if (!(answer.status === 0 || answer.status === 409 || answer.status === 429 || answer.status >= 500)) break;
      await sleep(500 * 2 ** attempt);
    }
    return { ok: false, status: answer.status, body: answer.body };
  }

  function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

  // An upload of `file`: callbacks onProgress(acknowledged, sending) — the bytes the server has
  // confirmed (its Upload-Offset) and those of the piece on the way, not yet confirmed —,
  // onResume(offset), onState(text), onDone(jobId, bytes), onFail(status, body). Returns {cancel()}.
  function start(file, key, callbacks) {
    let current = null;
    let creating = null;
    let cancelled = false;
    let ending = null;
    let url = null;

    async function create() {
      const answer = await request("POST", "/files/", key, {
        "Upload-Length": String(file.size),
        "Upload-Metadata": `filename ${base64(file.name)},filetype ${base64(file.type || "application/octet-stream")}`,
      }, null, null, null);
      if (answer.status !== 201) return answer;
      url = new URL(answer.header("Location"), location.href).pathname;
      if (!cancelled) remember(file, { url, name: file.name, size: file.size, fingerprint: fingerprint(file), started: Date.now() });
      return answer;
    }

    // The server's offset for the remembered upload, or null when it is gone (expired, ended).
    async function offset() {
      const answer = await request("HEAD", url, key, {}, null, null, (xhr) => { current = xhr; });
      if (answer.status === 200 || answer.status === 204) return { offset: Number(answer.header("Upload-Offset")), jobId: answer.header("X-Job-Id") };
      if (answer.status === 404 || answer.status === 410) return null;
      return { error: answer };
    }

    async function run() {
      const known = remembered()[fingerprint(file)];
      let sent = 0;
      let jobId = null;
      let failures = 0;
      if (known) {
        url = known.url;
        const at = await offset();
        if (cancelled) return;
        if (at && at.error == null) {
          sent = at.offset;
          jobId = at.jobId;
          callbacks.onResume(sent);
        } else if (at === null) {
          url = null;
          remember(file, null);
        }
      }
      while (!cancelled) {
        if (!url) {
          creating = create();
          const answer = await creating;
          creating = null;
          if (cancelled) return;
          if (answer.status !== 201) {
            if (await retryable(answer)) continue;
            if (!cancelled) callbacks.onFail(answer.status, answer.body);
            return;
          }
          jobId = answer.header("X-Job-Id");
          sent = Number(answer.header("Upload-Offset") || "0");
        }
        if (sent >= file.size) break;
        const end = Math.min(file.size, sent + CHUNK_BYTES);
        const answer = await request("PATCH", url, key, {
          "Content-Type": "application/offset+octet-stream",
          "Upload-Offset": String(sent),
        }, file.slice(sent, end), (loaded) => callbacks.onProgress(sent, loaded), (xhr) => { current = xhr; });
        if (cancelled) return;
        if (answer.status === 204) {
          sent = Number(answer.header("Upload-Offset"));
          jobId = answer.header("X-Job-Id") || jobId;
          failures = 0;
          callbacks.onProgress(sent, 0);
          continue;
        }
        if (answer.status === 409 || answer.status === 0 || answer.status >= 500 || answer.status === 429) {
          // Where does the server stand? (The connection dropped, or another request moved it on.)
          if (answer.status !== 409 && !(await retryable(answer))) {
            if (!cancelled) callbacks.onFail(answer.status, answer.body);
            return;
          }
          const at = await offset();
          if (cancelled) return;
          if (at === null) { url = null; remember(file, null); sent = 0; continue; }
          if (at.error != null) continue;
          if (answer.status === 409 && at.offset === sent && at.offset < file.size && !(await retryable(answer))) return;
          sent = at.offset;
          jobId = at.jobId || jobId;
          callbacks.onProgress(sent, 0);
          continue;
        }
        if (answer.status === 404 || answer.status === 410) {
          // Expired or ended on the server: start again from zero.
          url = null;
          remember(file, null);
          sent = 0;
          callbacks.onProgress(0, 0);
          continue;
        }
        // Refused (too large, not media, …): the server has ended it. A refused key keeps it, to resume under the right one.
        if (answer.status !== 401) remember(file, null);
        callbacks.onFail(answer.status, answer.body);
        return;
      }
      if (cancelled) return;
      remember(file, null);
      callbacks.onDone(jobId, file.size);

      // Waits before the next try: Retry-After when the server says, else exponential backoff.
      // False when the answer is not worth retrying, or the upload was cancelled meanwhile.
      async function retryable(answer) {
        if (!(answer.status === 0 || answer.status === 409 || answer.status === 429 || answer.status >= 500)) return false;
        const after = Number(answer.header("Retry-After"));
        const wait = after > 0 ? after * 1000 : BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)];
        failures += 1;
        const why = answer.status === 0 ? "connection lost" : answer.status === 409 ? "the upload is busy" : "the uploader is busy";
        callbacks.onState(`${why} · retrying in ${Math.round(wait / 1000)} s`);
        await sleep(wait);
        return !cancelled;
      }
    }

    run();
    return {
      // Stops sending and ends the upload on the server (a creation in flight is awaited first, so
      // the upload it makes is ended too). Resolves with {ok, status, body} of the DELETE.
      cancel() {
        if (ending) return ending;
        cancelled = true;
        if (current) current.abort();
        remember(file, null);
        ending = (async () => {
          if (creating) await creating;
          return url ? terminate(url, key) : { ok: true, status: 0, body: null };
        })();
        return ending;
      },
    };
  }

  // Ends an upload remembered from before a reload without choosing its file again.
  async function discard(entry, key) {
    const outcome = await terminate(entry.url, key);
    if (outcome.ok) {
      const all = remembered();
      delete all[entry.fingerprint];
      localStorage.setItem(STORE, JSON.stringify(all));
    }
    return outcome;
  }

  // Uploads this browser started and did not finish (for the page to list after a reload).
  function unfinished() { return Object.values(remembered()); }

  return { start, discard, unfinished, fingerprint, CHUNK_BYTES };
})();
