"""bench/video_compare.py — the Python half of bench/video.sh (standard library only; runs ffprobe and
the ffmpeg CLI for probing and PSNR).

  python video_compare.py ffmpeg-args PROFILE SRC
        the ffmpeg CLI arguments (one per line, to go between `-i SRC` and the output path) that do
        what the processor does with PROFILE to SRC: the contract's command, plus a bicubic scale
        when the profile's box shrinks SRC (or its size is odd)
  python video_compare.py report RUNS OUTDIR THROUGHPUT PROFILE JSONDIR [--stand-in]
        the tables and PASS/FAIL lines; exits 1 if a goal fails

RUNS is a TSV of `clip tool seconds rss_kib` (one line per timed run, tool = processor | ffmpeg);
OUTDIR/<tool>/<stem>/video.mp4 is each tool's output for each clip; THROUGHPUT is a TSV of
`tool round seconds rss_kib_1 rss_kib_2 clip` (two transcodes at once); JSONDIR/<stem>.jsonl the
processor's stdout for each clip (its JSON lines are checked unless --stand-in). The environment
variables BENCH_LOAD_START and BENCH_LOAD_END (/proc/loadavg's first three fields around the timed
runs) are printed, with a warning when the machine had more runnable work than cores.
"""
import json
import math
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

TOOLS = ("processor", "ffmpeg")
ISO_TOOLS = ("processor", "unisolated", "ffmpeg")  # COMPARE_ISOLATION=1
# Goals (see bench/video.sh).
MIN_SPEED = 0.95      # ffmpeg median wall / processor median wall
MAX_RSS = 1.2         # processor peak RSS / ffmpeg peak RSS
BYTES_SLACK = 0.03    # |processor bytes / ffmpeg bytes − 1|
PSNR_SLACK = 0.2      # |PSNR processor − PSNR ffmpeg|, dB
ISOLATION_SLACK = 0.05  # 1 − (speed ratio isolated / speed ratio in-process), COMPARE_ISOLATION=1
DURATION_SLACK = 0.1  # |output duration − source duration|, s


# ---- the profile and the matching ffmpeg command ---------------------------------------------------

def load_profile(path):
    """The `video` section of PROFILE, checked to be one the ffmpeg CLI can be given exactly: a single
    tier for any input size, default threads, no frame samples."""
    video = json.loads(Path(path).read_text()).get("video", {})
    tiers = video.get("tiers")
    if not tiers or len(tiers) != 1 or tiers[0].get("maxInputBytes") is not None:
        raise SystemExit(f"{path}: the bench needs exactly one video tier with maxInputBytes null")
    if video.get("threads", 0) != 0 or video.get("frameSamples") is not None:
        raise SystemExit(f"{path}: the bench needs threads 0 (auto, as ffmpeg) and frameSamples null")
    audio = {"bitRate": 128000, "sampleRate": 48000, "channels": 2, **video.get("audio", {})}
    return tiers[0], audio


def fit(width, height, box_w, box_h):
    """VideoProfile.fit: fit inside the orientation-free box, never enlarge, round to nearest (as
    Swift's `.rounded()`), then both sides down to even (≥ 2)."""
    long_, short = max(box_w, box_h), min(box_w, box_h)
    bw, bh = (long_, short) if width >= height else (short, long_)
    if width > bw or height > bh:
        scale = min(bw / width, bh / height)
        width, height = max(1, math.floor(width * scale + 0.5)), max(1, math.floor(height * scale + 0.5))
    return max(2, width & ~1), max(2, height & ~1)


def ffmpeg_args(profile, src):
    tier, audio = load_profile(profile)
    s = probe(src)
    want = fit(s["display_w"], s["display_h"], tier["maxWidth"], tier["maxHeight"])
    # The processor converts BT.601 pictures (tagged, or untagged below 720 lines, as players assume)
    # to the BT.709 its outputs are tagged with; ffmpeg gets the same conversion.
    space = s["v"].get("color_space", "unknown")
    convert = space not in ("bt709",) and (space != "unknown" or s["height"] < 720)
    filters = []
    if want != (s["display_w"], s["display_h"]) or convert:
        matrices = ":in_color_matrix=bt601:out_color_matrix=bt709" if convert else ""
        filters = ["-vf", f"scale={want[0]}:{want[1]}:flags=bicubic{matrices}"]
    scale = filters
    crf = tier["crf"]
    return ["-map", "0:v:0", "-map", "0:a:0?", "-sn", "-dn", *scale,
            "-c:v", "libx264", "-preset", tier["preset"], "-crf", f"{crf:g}", "-pix_fmt", "yuv420p",
            "-fps_mode", "passthrough", "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709",
            "-c:a", "aac", "-b:a", str(audio["bitRate"]), "-ac", str(audio["channels"]),
            "-ar", str(audio["sampleRate"]), "-movflags", "+faststart"]


# ---- probing ---------------------------------------------------------------------------------------

def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams", "-count_packets",
                          "-of", "json", str(path)], check=True, capture_output=True, text=True).stdout
    j = json.loads(out)
    video = [s for s in j["streams"] if s["codec_type"] == "video" and not s.get("disposition", {}).get("attached_pic")]
    audio = [s for s in j["streams"] if s["codec_type"] == "audio"]
    if not video:
        raise SystemExit(f"{path}: no video stream")
    v = video[0]
    rotation = 0
    for sd in v.get("side_data_list", []):
        if "rotation" in sd:
            rotation = int(round(float(sd["rotation"]))) % 360
    w, h = int(v["width"]), int(v["height"])
    return {
        "path": str(path), "v": v, "a": audio[0] if audio else None, "audio_streams": len(audio),
        "width": w, "height": h, "rotation": rotation,
        "display_w": h if rotation in (90, 270) else w, "display_h": w if rotation in (90, 270) else h,
        "duration": float(j["format"].get("duration", "nan")),
        "frames": int(v.get("nb_read_packets") or v.get("nb_frames") or 0),
        "bytes": int(j["format"]["size"]),
    }


def top_level_atoms(path):
    """The top-level box types of an MP4 file, in order."""
    atoms = []
    with open(path, "rb") as f:
        end = f.seek(0, 2)
        at = 0
        while at + 8 <= end:
            f.seek(at)
            head = f.read(16)
            size, kind = int.from_bytes(head[:4], "big"), head[4:8].decode("latin-1")
            if size == 1:
                size = int.from_bytes(head[8:16], "big")
            elif size == 0:
                size = end - at
            if size < 8:
                atoms.append(f"<bad size {size} at {at}>")
                break
            atoms.append(kind)
            at += size
    return atoms


def psnr(output, source, size):
    """ffmpeg's PSNR (all planes, `average:`) of OUTPUT (main) against SOURCE decoded, the source
    scaled to the output's size with Lanczos when the two differ; both start at time 0."""
    ref = "[1:v]setpts=PTS-STARTPTS"
    if (source["display_w"], source["display_h"]) != size:
        ref += f",scale={size[0]}:{size[1]}:flags=lanczos+accurate_rnd+full_chroma_int"
    graph = f"[0:v]setpts=PTS-STARTPTS[m];{ref},format=yuv420p[r];[m][r]psnr"
    err = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-i", str(output), "-i", source["path"],
                          "-lavfi", graph, "-f", "null", "-"], check=True, capture_output=True, text=True).stderr
    m = re.search(r"PSNR y:\S+ u:\S+ v:\S+ average:(\S+)", err)
    if not m:
        raise SystemExit(f"no PSNR for {output}:\n{err[-2000:]}")
    return float(m.group(1))


# ---- report ----------------------------------------------------------------------------------------

def check_output(name, o, src, want, audio):
    """Problems with one output (its probe `o`) of source `src`: codecs, size, colour tags, layout,
    duration."""
    bad = []
    v = o["v"]
    if v["codec_name"] != "h264" or v.get("pix_fmt") != "yuv420p":
        bad.append(f"video {v['codec_name']} {v.get('pix_fmt')}, want h264 yuv420p")
    if (o["width"], o["height"]) != want or o["rotation"]:
        bad.append(f"{o['width']}×{o['height']} rotation {o['rotation']}, want {want[0]}×{want[1]} unrotated")
    tags = tuple(v.get(k) for k in ("color_primaries", "color_transfer", "color_space", "color_range"))
    if tags != ("bt709", "bt709", "bt709", "tv"):
        bad.append("colour primaries/trc/matrix/range " + "/".join(map(str, tags)) + ", want bt709/bt709/bt709/tv")
    if src["a"] is None:
        if o["a"] is not None:
            bad.append("has audio, the source has none")
    else:
        a = o["a"]
        if a is None:
            bad.append("no audio")
        elif (a["codec_name"], a.get("profile"), int(a.get("channels", 0)), int(a.get("sample_rate", 0))) != \
                ("aac", "LC", audio["channels"], audio["sampleRate"]):
            bad.append(f"audio {a['codec_name']} {a.get('profile')} {a.get('channels')} ch {a.get('sample_rate')} Hz, "
                       f"want aac LC {audio['channels']} ch {audio['sampleRate']} Hz")
    if o["audio_streams"] > 1:
        bad.append(f"{o['audio_streams']} audio streams")
    atoms = top_level_atoms(o["path"])
    if "moov" not in atoms or "mdat" not in atoms or atoms.index("moov") > atoms.index("mdat"):
        bad.append("top-level atoms " + " ".join(atoms) + ": moov must come before mdat")
    if not abs(o["duration"] - src["duration"]) <= DURATION_SLACK:
        bad.append(f"duration {o['duration']:.3f} s, source {src['duration']:.3f} s")
    return [f"{name}: {b}" for b in bad]


def check_json(stem, jsonl, out_dir, o, src):
    """Problems with the processor's JSON line for one clip (and the poster it names)."""
    lines = [l for l in Path(jsonl).read_text().splitlines() if l.strip()] if Path(jsonl).exists() else []
    if len(lines) != 1:
        return [f"{stem}: processor printed {len(lines)} stdout lines, want one JSON line"]
    try:
        j = json.loads(lines[0])
    except ValueError:
        return [f"{stem}: processor stdout is not JSON: {lines[0][:200]}"]
    bad = []
    outs = j.get("outputs", {})
    if outs.get("video.mp4") != o["bytes"]:
        bad.append(f"outputs[video.mp4] {outs.get('video.mp4')} ≠ file size {o['bytes']}")
    poster = Path(out_dir) / "poster.webp"
    if not poster.exists() or outs.get("poster.webp") != poster.stat().st_size:
        bad.append(f"poster.webp missing or outputs[poster.webp] {outs.get('poster.webp')} ≠ its size")
    else:
        p = probe(poster)
        if (p["width"], p["height"]) != (o["width"], o["height"]):
            bad.append(f"poster {p['width']}×{p['height']} ≠ video {o['width']}×{o['height']}")
    if (j.get("width"), j.get("height")) != (o["width"], o["height"]):
        bad.append(f"width/height {j.get('width')}×{j.get('height')} ≠ output {o['width']}×{o['height']}")
    m = j.get("media", {})
    if (m.get("width"), m.get("height")) != (src["width"], src["height"]):
        bad.append(f"media {m.get('width')}×{m.get('height')} ≠ source {src['width']}×{src['height']}")
    if not abs(float(m.get("durationSeconds") or math.nan) - src["duration"]) <= DURATION_SLACK:
        bad.append(f"media.durationSeconds {m.get('durationSeconds')} ≠ source {src['duration']:.3f}")
    want_audio = src["a"]["codec_name"] if src["a"] else None
    if m.get("videoCodec") != src["v"]["codec_name"] or m.get("audioCodec") != want_audio:
        bad.append(f"media codecs {m.get('videoCodec')}/{m.get('audioCodec')} ≠ source "
                   f"{src['v']['codec_name']}/{want_audio}")
    return [f"{stem} JSON: {b}" for b in bad]


def isolation_table(clips, secs, cpu, tp, median, mark):
    """What crash isolation costs (COMPARE_ISOLATION=1): the processor's ratio to ffmpeg with each
    file decoded in a child (`--isolation process`, as the daemon runs) and in its own process
    (`none`), from the same interleaved rounds; the cost is how much the ratio drops. Because both
    modes meet the same ffmpeg run in a round, the cost of one round is 1 − in-process s / isolated s;
    the table gives the median of those paired costs (a slow moment of a noisy host hits both modes of
    one round rather than one mode's median), in wall time and in CPU time (user + system of the
    processor and its children), which other load on the host disturbs less."""
    print("\n| crash isolation | ours isolated s | ours in-process s | ffmpeg s | speed ratio isolated | speed ratio "
          "in-process | cost (median of rounds' medians) | cost, paired by round | CPU cost, paired by round | result |")
    print("|---|---|---|---|---|---|---|---|---|---|")

    def paired(values):
        return median(1 - n / i for i, n in zip(values["processor"], values["unisolated"]))

    rows = [(Path(c).stem, {t: secs[(c, t)] for t in ISO_TOOLS}, {t: cpu[(c, t)] for t in ISO_TOOLS}) for c in clips]
    rows.append((f"2 × {Path(clips[0]).stem} at once", {t: [s for s, _ in tp[t]] for t in ISO_TOOLS}, None))
    for name, walls, cpus in rows:
        iso, none, ff = (median(walls[t]) for t in ISO_TOOLS)
        r_iso, r_none = ff / iso, ff / none
        cost, cost_pair = 1 - r_iso / r_none, paired(walls)
        cost_cpu = paired(cpus) if cpus and all(cpus[t] for t in ISO_TOOLS) else None
        # The goal is judged on the paired wall cost (the bench's speed ratio is a wall ratio).
        print(f"| {name} | {iso:.3f} | {none:.3f} | {ff:.3f} | {r_iso:.3f} | {r_none:.3f} | {cost:+.1%} "
              f"| {cost_pair:+.1%} | {'—' if cost_cpu is None else f'{cost_cpu:+.1%}'} "
              f"| {'pass' if cost_pair <= ISOLATION_SLACK else 'FAIL' + mark(False)} |")
    print(f"(cost: 1 − isolated ratio / in-process ratio; goal ≤ {ISOLATION_SLACK:.0%} on the paired wall cost)")


def report(runs_tsv, outdir, throughput_tsv, profile, jsondir, stand_in):
    median = statistics.median
    tier, audio = load_profile(profile)

    clips, secs, rss, cpu = [], {}, {}, {}
    for line in Path(runs_tsv).read_text().splitlines():
        clip, tool, s, kib, *busy = line.split("\t")
        if clip not in clips:
            clips.append(clip)
        secs.setdefault((clip, tool), []).append(float(s))
        rss.setdefault((clip, tool), []).append(int(kib))
        cpu.setdefault((clip, tool), []).extend(float(c) for c in busy)

    rows, checks = [], []
    for clip in clips:
        stem = Path(clip).stem
        src = probe(clip)
        want = fit(src["display_w"], src["display_h"], tier["maxWidth"], tier["maxHeight"])
        o = {t: probe(Path(outdir) / t / stem / "video.mp4") for t in TOOLS}
        for t in TOOLS:
            checks += check_output(f"{stem} {t}", o[t], src, want, audio)
        if o["processor"]["frames"] != o["ffmpeg"]["frames"]:
            checks.append(f"{stem}: processor wrote {o['processor']['frames']} video frames, ffmpeg "
                          f"{o['ffmpeg']['frames']} (source {src['frames']})")
        if not stand_in:
            checks += check_json(stem, Path(jsondir) / f"{stem}.jsonl", Path(outdir) / "processor" / stem,
                                 o["processor"], src)
        q = {t: psnr(o[t]["path"], src, want) for t in TOOLS}
        m = {t: median(secs[(clip, t)]) for t in TOOLS}
        peak = {t: max(rss[(clip, t)]) / 1024 for t in TOOLS}
        r = {
            "clip": stem, "res": f"{src['display_w']}×{src['display_h']}", "dur": src["duration"],
            "s_p": m["processor"], "s_f": m["ffmpeg"], "speed": m["ffmpeg"] / m["processor"],
            "rss_p": peak["processor"], "rss_f": peak["ffmpeg"], "rss": peak["processor"] / peak["ffmpeg"],
            "b_p": o["processor"]["bytes"], "b_f": o["ffmpeg"]["bytes"],
            "bytes": o["processor"]["bytes"] / o["ffmpeg"]["bytes"],
            "q_p": q["processor"], "q_f": q["ffmpeg"], "dq": q["processor"] - q["ffmpeg"],
        }
        r["speed_ok"] = r["speed"] >= MIN_SPEED
        r["rss_ok"] = r["rss"] <= MAX_RSS
        r["bytes_ok"] = abs(r["bytes"] - 1) <= BYTES_SLACK
        r["psnr_ok"] = abs(r["dq"]) <= PSNR_SLACK or r["q_p"] == r["q_f"]  # inf == inf
        rows.append(r)
        print(f"{stem}: PSNR processor {q['processor']:.3f} dB, ffmpeg {q['ffmpeg']:.3f} dB", file=sys.stderr)

    rounds = len(secs[(clips[0], "processor")])
    who = "PROCESSOR_CMD stand-in" if stand_in else "processor"
    print(f"\n{len(clips)} clips, {rounds} interleaved rounds each ({who}, ffmpeg) after one warm-up; "
          f"profile {profile}: crf {tier['crf']:g}, preset {tier['preset']}, box {tier['maxWidth']}×{tier['maxHeight']}; "
          "times are medians, RSS the peak over the rounds, PSNR of each output against the decoded source\n")
    print("| clip | resolution | duration s | ours s | ffmpeg s | speed ratio | RSS ours MiB | RSS ffmpeg MiB "
          "| RSS ratio | bytes ours | bytes ffmpeg | bytes ratio | PSNR ours dB | PSNR ffmpeg dB | ΔPSNR dB | result |")
    print("|---|---|" + "---:|" * 13 + "---|")

    def mark(ok):
        return "" if ok else " ✗"

    for r in rows:
        fails = [k for k in ("speed", "rss", "bytes", "psnr") if not r[f"{k}_ok"]]
        print(f"| {r['clip']} | {r['res']} | {r['dur']:.2f} | {r['s_p']:.2f} | {r['s_f']:.2f} "
              f"| {r['speed']:.3f}{mark(r['speed_ok'])} | {r['rss_p']:.0f} | {r['rss_f']:.0f} "
              f"| {r['rss']:.2f}{mark(r['rss_ok'])} | {r['b_p']:,} | {r['b_f']:,} | {r['bytes']:.3f}{mark(r['bytes_ok'])} "
              f"| {r['q_p']:.3f} | {r['q_f']:.3f} | {r['dq']:+.3f}{mark(r['psnr_ok'])} "
              f"| {'pass' if not fails else 'FAIL ' + ', '.join(fails)} |")

    tp = {}
    for line in Path(throughput_tsv).read_text().splitlines():
        tool, _, s, k1, k2, clip = line.split("\t")
        tp.setdefault(tool, []).append((float(s), max(int(k1), int(k2)) / 1024))
    if "unisolated" in tp:
        isolation_table(clips, secs, cpu, tp, median, mark)
    tp_clip = Path(clip).stem
    tpm = {t: median(s for s, _ in tp[t]) for t in TOOLS}
    tpr = {t: max(k for _, k in tp[t]) for t in TOOLS}
    tp_speed = tpm["ffmpeg"] / tpm["processor"]
    tp_rss = tpr["processor"] / tpr["ffmpeg"]
    tp_ok = tp_speed >= MIN_SPEED and tp_rss <= MAX_RSS
    print(f"\n| two transcodes at once of {tp_clip} ({len(tp['processor'])} interleaved rounds, median wall of the pair) "
          "| ours s | ffmpeg s | speed ratio | RSS ours MiB (peak per process) | RSS ffmpeg MiB | RSS ratio | result |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    print(f"| 2 × {tp_clip} | {tpm['processor']:.2f} | {tpm['ffmpeg']:.2f} | {tp_speed:.3f}{mark(tp_speed >= MIN_SPEED)} "
          f"| {tpr['processor']:.0f} | {tpr['ffmpeg']:.0f} | {tp_rss:.2f}{mark(tp_rss <= MAX_RSS)} "
          f"| {'pass' if tp_ok else 'FAIL'} |")

    def failing(key):
        bad = [r["clip"] for r in rows if not r[f"{key}_ok"]]
        return f"{len(rows) - len(bad)}/{len(rows)} clips" + (f" (not: {', '.join(bad)})" if bad else "")

    goals = [
        (all(r["speed_ok"] for r in rows), f"speed: ffmpeg s / ours s ≥ {MIN_SPEED} on {failing('speed')}"),
        (all(r["rss_ok"] for r in rows), f"memory: peak RSS ours ≤ {MAX_RSS} × ffmpeg's on {failing('rss')}"),
        (all(r["bytes_ok"] for r in rows), f"size: bytes ours within ±{BYTES_SLACK:.0%} of ffmpeg's on {failing('bytes')}"),
        (all(r["psnr_ok"] for r in rows), f"quality: |PSNR ours − ffmpeg| ≤ {PSNR_SLACK} dB on {failing('psnr')}"),
        (tp_ok, f"two at once: speed ratio {tp_speed:.3f} (goal ≥ {MIN_SPEED}), RSS ratio {tp_rss:.2f} (goal ≤ {MAX_RSS})"),
        (not checks, "outputs: h264 yuv420p at the expected size, BT.709 tags, limited range, AAC-LC "
                     f"{audio['channels']} ch {audio['sampleRate']} Hz iff the source has audio, moov before mdat, "
                     f"duration within {DURATION_SLACK} s of the source, same frame count as ffmpeg"
                     + ("" if stand_in else ", one JSON line per input naming the outputs, a poster of the video's size")
                     + "".join(f"\n    {c}" for c in checks)),
    ]
    load = {k: os.environ.get(f"BENCH_LOAD_{k.upper()}", "") for k in ("start", "end")}
    if all(load.values()):
        cores = os.cpu_count() or 1
        busy = max(float(load[k].split()[0]) for k in load) > cores
        print(f"\nload average (1, 5, 15 min) {load['start']} before the timed runs, {load['end']} after, on {cores} cores"
              + ("; the machine was busy, so the speed ratios are mostly noise: rerun on a quiet machine" if busy else ""))
    print()
    for ok, text in goals:
        print(("PASS " if ok else "FAIL ") + text)
    return 0 if all(ok for ok, _ in goals) else 1


def main(argv):
    if len(argv) == 3 and argv[0] == "ffmpeg-args":
        print("\n".join(ffmpeg_args(argv[1], argv[2])))
        return 0
    if len(argv) in (6, 7) and argv[0] == "report" and argv[6:] in ([], ["--stand-in"]):
        return report(*argv[1:6], stand_in=len(argv) == 7)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
