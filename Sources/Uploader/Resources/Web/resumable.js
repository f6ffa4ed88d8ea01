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

  // An upload of `file`: callbacks onProgress(sentBytes), onState(text), onDone(jobId, bytes),
  // onFail(status, body). Returns {cancel()}.
  function start(file, key, callbacks) {
    let current = null;
    let cancelled = false;
    let url = null;
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

    async function create() {
      const answer = await request("POST", "/files/", key, {
        "Upload-Length": String(file.size),
        "Upload-Metadata": `filename ${base64(file.name)},filetype ${base64(file.type || "application/octet-stream")}`,
      }, null, null, (xhr) => { current = xhr; });
      if (answer.status !== 201) return answer;
      url = new URL(answer.header("Location"), location.href).pathname;
      remember(file, { url, name: file.name, size: file.size, fingerprint: fingerprint(file), started: Date.now() });
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
        if (at && at.error == null) {
          sent = at.offset;
          jobId = at.jobId;
          callbacks.onState(`resuming at ${Math.round((sent / file.size) * 100)}%`);
        } else if (at === null) {
          url = null;
          remember(file, null);
        }
      }
      while (!cancelled) {
        if (!url) {
          const answer = await create();
          if (cancelled) return;
          if (answer.status !== 201) {
            if (await retryable(answer)) continue;
            callbacks.onFail(answer.status, answer.body);
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
        }, file.slice(sent, end), (loaded) => callbacks.onProgress(sent + loaded), (xhr) => { current = xhr; });
        if (cancelled) return;
        if (answer.status === 204) {
          sent = Number(answer.header("Upload-Offset"));
          jobId = answer.header("X-Job-Id") || jobId;
          failures = 0;
          callbacks.onProgress(sent);
          continue;
        }
        if (answer.status === 409 || answer.status === 0 || answer.status >= 500 || answer.status === 429) {
          // Where does the server stand? (The connection dropped, or another request moved it on.)
          if (answer.status !== 409 && !(await retryable(answer))) { callbacks.onFail(answer.status, answer.body); return; }
          const at = await offset();
          if (at === null) { url = null; remember(file, null); sent = 0; continue; }
          if (at.error == null) sent = at.offset;
          continue;
        }
        if (answer.status === 404 || answer.status === 410) {
          // Expired or ended on the server: start again from zero.
          url = null;
          remember(file, null);
          sent = 0;
          continue;
        }
        remember(file, null);
        callbacks.onFail(answer.status, answer.body);
        return;
      }
      remember(file, null);
      callbacks.onDone(jobId, file.size);

      // Waits before the next try: Retry-After when the server says, else exponential backoff.
      async function retryable(answer) {
        if (!(answer.status === 0 || answer.status === 429 || answer.status >= 500)) return false;
        const after = Number(answer.header("Retry-After"));
        const wait = after > 0 ? after * 1000 : BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)];
        failures += 1;
        callbacks.onState(answer.status === 0 ? `connection lost · retrying in ${Math.round(wait / 1000)} s` : `server busy · retrying in ${Math.round(wait / 1000)} s`);
        await sleep(wait);
        return !cancelled;
      }
    }

    run();
    return {
      async cancel() {
        cancelled = true;
        if (current) current.abort();
        remember(file, null);
        if (url) await request("DELETE", url, key, {}, null, null, null);
      },
    };
  }

  // Uploads this browser started and did not finish (for the page to list after a reload).
  function unfinished() { return Object.values(remembered()); }

  return { start, unfinished, fingerprint, CHUNK_BYTES };
})();
