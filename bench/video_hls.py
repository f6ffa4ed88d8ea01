"""bench/video_hls.py — the HLS row of bench/video.sh (standard library only; runs ffprobe and ffmpeg).

  python video_hls.py ffmpeg-args PROFILE SRC OUTDIR
        writes OUTDIR/rung<i>.args (one argument a line, for `ffmpeg -nostdin -v error -y -i SRC …`):
        one ffmpeg CLI run per rung that the processor's ladder makes from SRC with PROFILE's
        `video.hls` (the same rung sizes, bicubic scale, x264 preset/CRF/VBV cap, GOP of
        segmentSeconds × fps with no scene cuts and a keyframe forced at every segment start, fMP4 HLS
        with the same segment length); the first run also writes the AAC rendition (OUTDIR/ff/audio)
  python video_hls.py report RUNS PROFILE SRC OURS_DIR FFMPEG_DIR
        the HLS table and PASS/FAIL lines; exits 1 if a goal fails

RUNS is a TSV of `tool seconds` (tool = processor: the ladder's own time, `timings.hls` of its JSON
line, the MP4 pass excluded; ffmpeg: the wall time of the three runs together, one after the other).
OURS_DIR/hls is the processor's ladder, FFMPEG_DIR/<rung>/ and FFMPEG_DIR/audio the CLI's.
"""
import json
import math
import re
import statistics
import subprocess
import sys
from pathlib import Path

from video_compare import fit, probe

MAX_TIME_RATIO = 0.75  # ladder s / three ffmpeg runs s
BYTES_SLACK = 0.03     # |ladder bytes / ffmpeg bytes − 1|
DURATION_SLACK = 0.1


def hls_settings(profile):
    video = json.loads(Path(profile).read_text())["video"]
    hls = video["hls"]
    audio = {"bitRate": 128000, "sampleRate": 48000, "channels": 2, **video.get("audio", {})}
    return hls, audio, float(video.get("maxFrameRate", 60))


def plan(hls, width, height):
    """VideoProfile.HLS.plan: boxes smallest first, fitted, never enlarged, equal sizes kept once."""
    rungs = sorted(hls["rungs"], key=lambda r: (r["maxWidth"] * r["maxHeight"], r["maxWidth"]))
    planned = []
    for r in rungs:
        size = fit(width, height, r["maxWidth"], r["maxHeight"])
        if any(p["size"] == size for p in planned):
            continue
        planned.append({"size": size, "crf": r["crf"], "maxBitRate": r.get("maxBitRate")})
    if len(planned) < 2:
        raise SystemExit("the bench needs a source larger than the smallest rung")
    return planned[::-1]


def rate(text):
    num, _, den = text.partition("/")
    return float(num) / float(den or 1) if float(den or 1) else 0.0


def frame_rate(source, cap):
    if source <= cap:
        return source
    return source / math.ceil(source / cap * (1 - 1e-6))


def ffmpeg_args(profile, src, outdir):
    hls, audio, cap = hls_settings(profile)
    s = probe(src)
    fps = frame_rate(rate(s["v"].get("avg_frame_rate") or s["v"]["r_frame_rate"]), cap)
    keyint = max(1, round(hls["segmentSeconds"] * fps))
    seg = f"{hls['segmentSeconds']:g}"
    out = Path(outdir)
    muxer = ["-f", "hls", "-hls_segment_type", "fmp4", "-hls_time", seg, "-hls_playlist_type", "vod",
             "-hls_flags", "independent_segments"]
    for i, r in enumerate(plan(hls, s["display_w"], s["display_h"])):
        w, h = r["size"]
        name = f"{min(w, h)}p"
        (out / "ff" / name).mkdir(parents=True, exist_ok=True)
        args = ["-map", "0:v:0", "-sn", "-dn", "-an"]
        if (w, h) != (s["display_w"], s["display_h"]):
            args += ["-vf", f"scale={w}:{h}:flags=bicubic"]
        args += ["-c:v", "libx264", "-preset", hls["preset"], "-crf", f"{r['crf']:g}"]
        if r["maxBitRate"]:
            args += ["-maxrate", str(r["maxBitRate"]), "-bufsize", str(2 * r["maxBitRate"])]
        args += ["-g", str(keyint), "-keyint_min", str(keyint), "-sc_threshold", "0",
                 "-force_key_frames", f"expr:gte(t,n_forced*{seg})", "-pix_fmt", "yuv420p", "-fps_mode", "passthrough",
                 "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", *muxer,
                 "-hls_segment_filename", str(out / "ff" / name / "seg_%05d.m4s"), str(out / "ff" / name / "index.m3u8")]
        if i == 0 and s["a"] is not None:
            (out / "ff" / "audio").mkdir(parents=True, exist_ok=True)
            args += ["-map", "0:a:0", "-vn", "-sn", "-dn", "-c:a", "aac", "-b:a", str(audio["bitRate"]),
                     "-ac", str(audio["channels"]), "-ar", str(audio["sampleRate"]), *muxer,
                     "-hls_segment_filename", str(out / "ff" / "audio" / "seg_%05d.m4s"), str(out / "ff" / "audio" / "index.m3u8")]
        (out / f"rung{i}.args").write_text("\n".join(args) + "\n")


def tree_bytes(folder, skip=()):
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file() and p.name not in skip)


def extinf(playlist):
    return [float(x) for x in re.findall(r"#EXTINF:([0-9.]+),", Path(playlist).read_text())]


def check_ladder(ours, src, planned, hls):
    """Problems with the processor's ladder: every rung probes as H.264 at its size and no faster than
    the source, segments are the same length in every rung, the master plays to the source's duration."""
    bad = []
    master = Path(ours) / "master.m3u8"
    if not master.exists():
        return ["no hls/master.m3u8"]
    text = master.read_text()
    if "#EXT-X-INDEPENDENT-SEGMENTS" not in text:
        bad.append("master.m3u8 has no #EXT-X-INDEPENDENT-SEGMENTS")
    variants = re.findall(r"#EXT-X-STREAM-INF:[^\n]*\n([^\n]+)", text)
    if len(variants) != len(planned):
        bad.append(f"{len(variants)} variants, want {len(planned)}")
    lists = []
    src_fps = rate(src["v"].get("avg_frame_rate") or src["v"]["r_frame_rate"])
    for uri, r in zip(variants, planned):
        o = probe(Path(ours) / uri)
        w, h = r["size"]
        if o["v"]["codec_name"] != "h264" or (o["width"], o["height"]) != (w, h):
            bad.append(f"{uri}: {o['v']['codec_name']} {o['width']}×{o['height']}, want h264 {w}×{h}")
        if rate(o["v"].get("avg_frame_rate", "0/1")) > src_fps + 0.01:
            bad.append(f"{uri}: {o['v'].get('avg_frame_rate')} fps, over the source's {src_fps:.3f}")
        lists.append(extinf(Path(ours) / uri))
    if any(l != lists[0] for l in lists):
        bad.append(f"segment durations differ between rungs: {lists}")
    played = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(master), "-map", "0", "-f", "null", "-"],
                            capture_output=True, text=True)
    if played.returncode != 0 or played.stderr.strip():
        bad.append(f"ffmpeg -i master.m3u8 -map 0 -f null -: {played.stderr.strip()[-500:]}")
    d = float(json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_format", "-of", "json", str(master)],
                                        capture_output=True, text=True).stdout)["format"]["duration"])
    if abs(d - src["duration"]) > DURATION_SLACK:
        bad.append(f"master.m3u8 duration {d:.3f} s, source {src['duration']:.3f} s")
    return bad


def report(runs, profile, src_path, ours, theirs):
    hls, _, _ = hls_settings(profile)
    src = probe(src_path)
    planned = plan(hls, src["display_w"], src["display_h"])
    secs = {}
    for line in Path(runs).read_text().splitlines():
        tool, s = line.split("\t")
        secs.setdefault(tool, []).append(float(s))
    m = {t: statistics.median(v) for t, v in secs.items()}
    ratio = m["processor"] / m["ffmpeg"]
    ours_hls = Path(ours) / "hls"
    b_ours = tree_bytes(ours_hls, skip=("master.m3u8",))
    b_ff = tree_bytes(theirs)
    bytes_ratio = b_ours / b_ff
    checks = check_ladder(ours_hls, src, planned, hls)
    rungs = " + ".join(f"{r['size'][0]}×{r['size'][1]}" for r in planned)
    print(f"\nHLS ladder of {Path(src_path).stem} ({src['duration']:.1f} s): {rungs} + AAC, preset {hls['preset']}, "
          f"{hls['segmentSeconds']:g} s segments; {len(secs['processor'])} interleaved rounds, medians\n")
    print("| HLS ladder | rungs | ours: one pass s | ffmpeg: three runs s | time ratio | bytes ours | bytes ffmpeg "
          "| bytes ratio | result |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    ok_t, ok_b = ratio <= MAX_TIME_RATIO, abs(bytes_ratio - 1) <= BYTES_SLACK
    print(f"| {Path(src_path).stem} | {len(planned)} | {m['processor']:.2f} | {m['ffmpeg']:.2f} | {ratio:.3f} "
          f"| {b_ours:,} | {b_ff:,} | {bytes_ratio:.3f} | {'pass' if ok_t and ok_b and not checks else 'FAIL'} |")
    print(f"(ours: the ladder's own time, timings.hls of the processor's JSON line; each round's times "
          f"{', '.join(f'{s:.2f}' for s in secs['processor'])} vs ffmpeg {', '.join(f'{s:.2f}' for s in secs['ffmpeg'])})")
    goals = [
        (ok_t, f"HLS time: one pass / three ffmpeg runs {ratio:.3f} (goal ≤ {MAX_TIME_RATIO})"),
        (ok_b, f"HLS size: bytes ours / ffmpeg's {bytes_ratio:.3f} (goal within ±{BYTES_SLACK:.0%})"),
        (not checks, "HLS outputs: every rung H.264 at its size and no faster than the source, the same segment "
                     "durations in every rung, #EXT-X-INDEPENDENT-SEGMENTS, the master plays (ffmpeg -map 0) to the "
                     f"source's duration ±{DURATION_SLACK} s" + "".join(f"\n    {c}" for c in checks)),
    ]
    print()
    for ok, text in goals:
        print(("PASS " if ok else "FAIL ") + text)
    return 0 if all(ok for ok, _ in goals) else 1


def main(argv):
    if len(argv) == 4 and argv[0] == "ffmpeg-args":
        ffmpeg_args(*argv[1:])
        return 0
    if len(argv) == 6 and argv[0] == "report":
        return report(*argv[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
