// MediaPipeline upload page: plain JavaScript, no build step.
// Uploads each file with its own request (so each has a progress bar), then polls its job; on
// opening (and when a key is entered) it shows the caller's recent jobs (`GET /jobs`). Files of
// RESUMABLE_FROM bytes or more go in resumable pieces over tus (resumable.js): they survive a
// dropped connection and a reload, and can be cancelled.
"use strict";

const KEY_STORAGE = "mediapipeline.apiKey";
const POLL_MS = 1500;
const RECENT_JOBS = 10;
const RESUMABLE_FROM = 32 * 1024 * 1024;

const messages = {
  Unauthorized: "The API key was not accepted. Enter it again.",
  RateLimited: "Too many uploads at once for this key. It will be retried shortly.",
  TooManyUploadsForKey: "Too many uploads in progress for this key. It will be retried shortly.",
  QuotaExceeded: "Today's upload quota is used up. It resets at midnight UTC.",
  ServerBusy: "The uploader is busy. It will be retried shortly.",
  BodyTooSlow: "The connection was too slow to finish the upload. Try again on a better network.",
  PayloadTooLarge: "This file is larger than the uploader accepts.",
  UnsupportedMediaType: "This file is not a supported photo or video.",
  EmptyFile: "This file is empty.",
  StorageUnavailable: "Storage is unavailable right now; nothing was kept. Try again in a moment.",
  IncompleteBody: "The upload was interrupted before the whole file arrived.",
};

const processingErrors = {
  unsupported: "This file's format or codec is not supported.",
  corrupt: "The file is damaged or incomplete and could not be read.",
  limit: "The file is over a processing limit (size, resolution or duration).",
};

function $(selector) { return document.querySelector(selector); }

function apiKey() { return sessionStorage.getItem(KEY_STORAGE); }

function askForKey(reason) {
  $("#key-form").hidden = false;
  $("#forget-key").hidden = true;
  const error = $("#key-error");
  error.hidden = !reason;
  error.textContent = reason || "";
  $("#api-key").focus();
}

function formatBytes(bytes) {
  if (bytes == null) return "?";
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes, unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit++; }
  return `${value.toFixed(value < 10 && unit > 0 ? 1 : 0)} ${units[unit]}`;
}

function plainError(body, status) {
  const code = body && body.error && body.error.code;
  if (code && messages[code]) return messages[code];
  if (body && body.error && body.error.message) return body.error.message;
  if (status === 0) return "The connection to the uploader was lost.";
  return `The upload failed (HTTP ${status}).`;
}

function addJobRow(file) {
  const row = $("#job-template").content.firstElementChild.cloneNode(true);
  row.querySelector(".name").textContent = file.name;
  row.querySelector(".detail").textContent = formatBytes(file.size);
  $("#jobs").prepend(row);
  return row;
}

function setState(row, state, detail, isError) {
  const badge = row.querySelector(".state");
  badge.textContent = state;
  badge.className = `state badge ${state}`;
  if (detail != null) {
    const p = row.querySelector(".detail");
    p.textContent = detail;
    p.classList.toggle("error", !!isError);
  }
  row.dataset.state = state;
}

function upload(file, attempt = 1) {
  const row = attempt === 1 ? addJobRow(file) : file.row;
  file.row = row;
  const progress = row.querySelector("progress");
  setState(row, "uploading", `${formatBytes(file.size)} · uploading`);
  const form = new FormData();
  form.append("file", file, file.name);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/upload");
  xhr.setRequestHeader("X-API-Key", apiKey() || "");
  xhr.upload.onprogress = (event) => {
    if (event.lengthComputable) progress.value = Math.round((event.loaded / event.total) * 100);
  };
  xhr.onload = () => {
    let body = null;
    try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
    if (xhr.status === 202 && body) {
      progress.value = 100;
      row.dataset.jobId = body.jobId;
      setState(row, "queued", `${formatBytes(body.input.bytes)} uploaded · waiting for a processor`);
      poll(row, body.statusUrl, body.input.bytes);
      return;
    }
    if (xhr.status === 401) {
      sessionStorage.removeItem(KEY_STORAGE);
      setState(row, "failed", messages.Unauthorized, true);
      askForKey(messages.Unauthorized);
      return;
    }
    if ((xhr.status === 429 || xhr.status === 503) && attempt < 5) {
      const wait = Number(xhr.getResponseHeader("Retry-After") || "2");
      setState(row, "waiting", `${plainError(body, xhr.status)} Retrying in ${wait} s.`);
      setTimeout(() => upload(file, attempt + 1), wait * 1000);
      return;
    }
    setState(row, "failed", plainError(body, xhr.status), true);
  };
  xhr.onerror = () => setState(row, "failed", plainError(null, 0), true);
  xhr.send(form);
}

async function poll(row, statusUrl, inputBytes) {
  let response;
  try {
    response = await fetch(statusUrl, { headers: { "X-API-Key": apiKey() || "" }, cache: "no-store" });
  } catch (_) {
    setTimeout(() => poll(row, statusUrl, inputBytes), POLL_MS * 2);
    return;
  }
  if (response.status === 401) { askForKey(messages.Unauthorized); return; }
  if (!response.ok) { setTimeout(() => poll(row, statusUrl, inputBytes), POLL_MS * 2); return; }
  const job = await response.json();
  if (job.status === "succeeded") {
    const total = job.outputs.reduce((sum, output) => sum + (output.bytes || 0), 0);
    const main = job.outputs[0];
    const ratio = main && inputBytes ? (main.bytes / inputBytes) : null;
    const parts = [`${formatBytes(inputBytes)} → ${formatBytes(main ? main.bytes : total)}`];
    if (ratio != null) parts.push(`${(ratio * 100).toFixed(ratio < 0.1 ? 1 : 0)}% of the original`);
    if (main && main.width) parts.push(`${main.width}×${main.height}`);
    if (main && main.durationSeconds) parts.push(`${main.durationSeconds.toFixed(1)} s`);
    setState(row, "succeeded", parts.join(" · "));
    showPreviews(row, job.outputs);
    return;
  }
  if (job.status === "failed") {
    const code = job.error && job.error.code;
    const reason = (code && processingErrors[code]) || (job.error && job.error.reason) || "Processing failed.";
    setState(row, "failed", reason, true);
    return;
  }
  setState(row, job.status, job.status === "processing" ? "processing…" : null);
  setTimeout(() => poll(row, statusUrl, inputBytes), POLL_MS);
}

function showPreviews(row, outputs) {
  const box = row.querySelector(".previews");
  box.textContent = "";
  // The AVIF rendition is no preview of its own: it goes first in the WebP's <picture>, and
  // browsers that decode AVIF show it instead of the WebP.
  const avif = outputs.find((o) => o.contentType === "image/avif" && o.url);
  for (const output of outputs) {
    if (!output.url || output === avif) continue;
    const figure = document.createElement("figure");
    let media = null;
    if (output.contentType.startsWith("image/")) {
      media = document.createElement("img");
      media.alt = output.name;
      media.loading = "lazy";
      // The ThumbHash placeholder (thumbhash.js) until the image arrives.
      if (typeof ThumbHash !== "undefined") ThumbHash.paint(media, output);
    } else if (output.contentType.startsWith("video/")) {
      media = document.createElement("video");
      media.controls = true;
      media.preload = "metadata";
      media.playsInline = true;
    } else if (output.contentType.startsWith("audio/")) {
      // audio.m4a of an audio-only upload (its waveform.png is shown as an image beside it).
      media = document.createElement("audio");
      media.controls = true;
      media.preload = "metadata";
    }
    const caption = document.createElement("figcaption");
    const link = document.createElement("a");
    link.textContent = output.name;
    link.href = output.url;
    link.target = "_blank";
    link.rel = "noopener";
    caption.append(link, ` · ${formatBytes(output.bytes)}`);
    if (media) {
      // Output URLs open as they are: short-lived SAS links, or signed links through the uploader
      // (proxy mode); neither needs the API key, which never goes into a URL.
      const shown = media;
      shown.addEventListener("error", () => { shown.remove(); caption.append(" · preview unavailable"); }, { once: true });
      let holder = shown;
      if (avif && output.name === "image.webp") {
        holder = document.createElement("picture");
        const source = document.createElement("source");
        source.type = "image/avif";
        source.srcset = avif.url;
        holder.append(source, shown);
        const avifLink = document.createElement("a");
        avifLink.textContent = avif.name;
        avifLink.href = avif.url;
        avifLink.target = "_blank";
        avifLink.rel = "noopener";
        caption.append(" · ", avifLink, ` · ${formatBytes(avif.bytes)}`);
      }
      shown.src = output.url;
      figure.append(holder);
    }
    figure.append(caption);
    box.append(figure);
  }
}

// The caller's most recent jobs, below anything uploaded in this tab, each followed like a new one.
async function showRecentJobs() {
  for (const old of document.querySelectorAll("#jobs .job.recent")) old.remove();
  let response;
  try {
    response = await fetch(`/jobs?limit=${RECENT_JOBS}`, { headers: { "X-API-Key": apiKey() || "" }, cache: "no-store" });
  } catch (_) { return; }
  if (response.status === 401) { askForKey(messages.Unauthorized); return; }
  if (!response.ok) return;
  const page = await response.json();
  for (const job of page.jobs) {
    if (document.querySelector(`#jobs .job[data-job-id="${job.jobId}"]`)) continue;
    const row = $("#job-template").content.firstElementChild.cloneNode(true);
    row.classList.add("recent");
    row.dataset.jobId = job.jobId;
    row.querySelector(".name").textContent = job.originalName || `job ${job.jobId.slice(0, 8)}`;
    row.querySelector("progress").value = 100;
    $("#jobs").append(row);
    setState(row, job.status, `${formatBytes(job.input.bytes)} · ${new Date(job.createdAt).toLocaleString()}`);
    poll(row, `/jobs/${job.jobId}`, job.input.bytes);
  }
}

function uploadResumable(file) {
  const fingerprint = Resumable.fingerprint(file);
  const paused = document.querySelector(`#jobs .job.paused[data-fingerprint="${CSS.escape(fingerprint)}"]`);
  if (paused) paused.remove();
  const row = addJobRow(file);
  const progress = row.querySelector("progress");
  const cancel = row.querySelector(".cancel");
  let finished = false;
  setState(row, "uploading", `${formatBytes(file.size)} · uploading in pieces`);
  const upload = Resumable.start(file, apiKey(), {
    // The bar shows what the server has confirmed (its Upload-Offset), never bytes merely sent.
    onProgress(acknowledged, sending) {
      progress.value = Math.floor((acknowledged / file.size) * 100);
      const next = sending > 0 ? ` · sending ${formatBytes(sending)} more` : "";
      setState(row, "uploading", `${formatBytes(acknowledged)} of ${formatBytes(file.size)} uploaded${next}`);
    },
    onResume(offset) {
      row.dataset.resumedAt = String(offset);
      progress.value = Math.floor((offset / file.size) * 100);
      setState(row, "uploading", `resuming at ${formatBytes(offset)} of ${formatBytes(file.size)} (${Math.floor((offset / file.size) * 100)}%)`);
    },
    onState(text) { setState(row, "waiting", text); },
    onDone(jobId, bytes) {
      finished = true;
      cancel.hidden = true;
      progress.value = 100;
      row.dataset.jobId = jobId;
      setState(row, "queued", `${formatBytes(bytes)} uploaded · waiting for a processor`);
      poll(row, `/jobs/${jobId}`, bytes);
    },
    onFail(status, body) {
      finished = true;
      cancel.hidden = true;
      if (status === 401) {
        sessionStorage.removeItem(KEY_STORAGE);
        askForKey(messages.Unauthorized);
      }
      setState(row, "failed", plainError(body, status), true);
    },
  });
  cancel.hidden = false;
  cancel.addEventListener("click", async () => {
    if (finished) return;
    cancel.hidden = true;
    setState(row, "cancelling", "cancelling…");
    const outcome = await upload.cancel();
    if (outcome.ok) setState(row, "cancelled", "cancelled · nothing was kept");
    else setState(row, "failed", `Cancelled here, but the uploader could not end the upload: ${plainError(outcome.body, outcome.status)} It expires on its own.`, true);
  }, { once: true });
}

// Uploads this browser started before a reload and did not finish: choosing the file again
// resumes; Cancel ends it on the server without the file.
function showUnfinished() {
  for (const entry of Resumable.unfinished()) {
    const row = $("#job-template").content.firstElementChild.cloneNode(true);
    row.classList.add("paused");
    row.querySelector(".name").textContent = entry.name;
    $("#jobs").prepend(row);
    setState(row, "paused", `${formatBytes(entry.size)} · interrupted: choose this file again to resume`);
    row.dataset.fingerprint = entry.fingerprint;
    const cancel = row.querySelector(".cancel");
    cancel.hidden = false;
    cancel.addEventListener("click", async () => {
      if (!apiKey()) { askForKey("Enter the API key first."); return; }
      cancel.hidden = true;
      setState(row, "cancelling", "cancelling…");
      const outcome = await Resumable.discard(entry, apiKey());
      if (outcome.ok) { setState(row, "cancelled", "cancelled · nothing was kept"); row.classList.remove("paused"); return; }
      cancel.hidden = false;
      setState(row, "paused", `Could not end the upload: ${plainError(outcome.body, outcome.status)}`, true);
    });
  }
}

function handleFiles(files) {
  if (!apiKey()) { askForKey("Enter the API key first."); return; }
  for (const file of files) {
    if (file.size >= RESUMABLE_FROM) uploadResumable(file); else upload(file);
  }
}

function setUp() {
  const drop = $("#drop");
  const input = $("#file-input");
  $("#key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("#api-key").value.trim();
    if (!value) return;
    sessionStorage.setItem(KEY_STORAGE, value);
    $("#key-form").hidden = true;
    $("#forget-key").hidden = false;
    $("#api-key").value = "";
    showRecentJobs();
  });
  $("#forget-key").addEventListener("click", () => { sessionStorage.removeItem(KEY_STORAGE); askForKey(); });
  input.addEventListener("change", () => { handleFiles(input.files); input.value = ""; });
  drop.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") input.click(); });
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (event) => { event.preventDefault(); drop.classList.add("over"); });
  }
  for (const type of ["dragleave", "drop"]) {
    drop.addEventListener(type, (event) => { event.preventDefault(); drop.classList.remove("over"); });
  }
  drop.addEventListener("drop", (event) => handleFiles(event.dataTransfer.files));
  showUnfinished();
  if (apiKey()) { $("#forget-key").hidden = false; showRecentJobs(); } else { askForKey(); }
}

document.addEventListener("DOMContentLoaded", setUp);
