"""bench/images_compare.py — the Python half of bench/images.sh.

  python images_compare.py pillow IN OUT       the Pillow peer: EXIF orientation, fit inside 2048×2048
                                               (never enlarge), WebP quality 85, method 4, no metadata
  python images_compare.py ssim IN OUT         SSIM (luma) of the WebP OUT against IN's reference
  python images_compare.py report RUNS OUTDIR THROUGHPUT
                                               the tables and PASS/FAIL lines; exits 1 if a goal fails

RUNS is a TSV of `photo tool seconds rss_kib` (one line per timed run); OUTDIR/<tool>/<stem>/image.webp
is each tool's output for each photo; THROUGHPUT is a TSV of `tool round seconds images`.
The pillow subcommand imports only Pillow, so its timing is not charged for numpy and scipy.
"""
import sys
from pathlib import Path

from PIL import Image, ImageOps

BOX = 2048
TOOLS = ("processor", "vips", "pillow")
# Goals (see bench/images.sh).
MAX_RATIO_VIPS = 1.0
MAX_CPU_RATIO_VIPS = 0.85  # issue 19: CPU per image, in both modes
MAX_RATIO_PILLOW = 0.6
SSIM_SLACK = 0.002
BYTES_SLACK = 1.03


def pillow(src, dst):
    with Image.open(src) as im:
        im = ImageOps.exif_transpose(im)
        im.thumbnail((BOX, BOX), Image.LANCZOS)
        im.save(dst, "WEBP", quality=85, method=4)  # Pillow writes no EXIF/XMP/ICC unless asked


# ---- quality ------------------------------------------------------------------------------------

def oriented(src):
    """The original, decoded by Pillow with its EXIF orientation applied, as RGB."""
    with Image.open(src) as im:
        return ImageOps.exif_transpose(im).convert("RGB")


def reference_luma(original, size):
    """`original` resized with Lanczos to exactly `size` in float32 per channel (no 8-bit rounding
    between the passes), clipped to 0…255 as an encoder's input would be, as BT.601 luma."""
    import numpy as np
    r, g, b = (np.asarray(c.convert("F").resize(size, Image.LANCZOS), dtype=np.float64)
               for c in original.split())
    return luma(np.clip(r, 0, 255), np.clip(g, 0, 255), np.clip(b, 0, 255))


def decoded_luma(path):
    import numpy as np
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.float64)
    return luma(rgb[..., 0], rgb[..., 1], rgb[..., 2])


def luma(r, g, b):
    return 0.299 * r + 0.587 * g + 0.114 * b


def ssim(x, y, sigma=1.5, k1=0.01, k2=0.03, data_range=255.0):
    """Mean SSIM (Wang, Bovik, Sheikh, Simoncelli 2004) with an 11×11 Gaussian window (σ 1.5,
    truncated at 3.5σ), population statistics; the 5-pixel border the window cannot cover is left
    out of the mean (as scikit-image does)."""
    import numpy as np
    from scipy.ndimage import gaussian_filter

    def blur(a):
        return gaussian_filter(a, sigma, truncate=3.5)

    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cxy = blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    pad = int(3.5 * sigma + 0.5)
    return float(np.mean(s[pad:-pad, pad:-pad]))


def webp_chunks(path):
    """The RIFF chunks of a WebP file as (fourcc, size including the 8-byte header and padding)."""
    data = Path(path).read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError(f"{path}: not a WebP file")
    chunks, at = [], 12
    while at + 8 <= len(data):
        size = int.from_bytes(data[at + 4:at + 8], "little")
        chunks.append((data[at:at + 4].decode("latin-1"), 8 + size + (size & 1)))
        at += 8 + size + (size & 1)
    return chunks


METADATA_CHUNKS = {"EXIF", "XMP ", "ICCP"}


def metadata_bytes(path):
    return sum(size for fourcc, size in webp_chunks(path) if fourcc in METADATA_CHUNKS)


def expected_size(w, h):
    scale = min(1.0, BOX / w, BOX / h)
    return max(1, round(w * scale)), max(1, round(h * scale))


# ---- report -------------------------------------------------------------------------------------

ISOLATION_SLACK = 0.05  # COMPARE_ISOLATION=1: the ratio to vips may get worse by at most 5 %


def isolation_table(photos, secs, median):
    """What crash isolation costs (COMPARE_ISOLATION=1): per photo, the time with the file decoded in
    a child (`--isolation process`, as the daemon runs) and in the processor's own process (`none`),
    from the same interleaved rounds. A round's cost is 1 − in-process s / isolated s (both met the
    same vips run, so the ratio to vips changes by just that); the table gives its median over the
    rounds, and the goal is judged on the median ratio to vips over all photos, as the time goal is."""
    print("\n| crash isolation | ours isolated s | ours in-process s | vips s | cost, paired by round |")
    print("|---|---:|---:|---:|---:|")
    for photo in photos:
        iso, none, vips = (secs[(photo, t)] for t in ("processor", "unisolated", "vips"))
        cost = median(1 - n / i for i, n in zip(iso, none))
        print(f"| {Path(photo).stem} | {median(iso):.3f} | {median(none):.3f} | {median(vips):.3f} | {cost:+.1%} |")
    r_iso = median(median(secs[(p, "processor")]) / median(secs[(p, "vips")]) for p in photos)
    r_none = median(median(secs[(p, "unisolated")]) / median(secs[(p, "vips")]) for p in photos)
    worse = r_iso / r_none - 1
    return [(worse <= ISOLATION_SLACK,
             f"isolation: median ratio processor/vips {r_iso:.3f} isolated, {r_none:.3f} in process, {worse:+.1%} "
             f"(goal ≤ +{ISOLATION_SLACK:.0%})")]


def batch_table(batch_tsv, median):
    """All photos in one process: median CPU per image and wall per tool; returns the CPU ratio."""
    runs = {}
    for l in Path(batch_tsv).read_text().splitlines():
        tool, _, wall, c, n = l.split("\t")
        runs.setdefault(tool, []).append((float(wall), float(c), int(n)))
    print(f"\n| all photos in one process ({len(runs['processor'])} rounds, median) | wall s | CPU s | CPU s per image |")
    print("|---|---:|---:|---:|")
    per = {}
    for tool, label in (("processor", "processor process"), ("vips", "vipsthumbnail")):
        wall, c, n = median(w for w, _, _ in runs[tool]), median(c for _, c, _ in runs[tool]), runs[tool][0][2]
        per[tool] = c / n
        print(f"| {label} | {wall:.2f} | {c:.2f} | {per[tool]:.3f} |")
    ratio = per["processor"] / per["vips"]
    print(f"\nall photos in one process, CPU ratio processor/vips: {ratio:.2f}")
    return ratio


def report(runs_tsv, outdir, throughput_tsv, batch_tsv=None):
    import statistics
    median = statistics.median

    photos, secs, rss, cpu = [], {}, {}, {}
    for line in Path(runs_tsv).read_text().splitlines():
        photo, tool, s, kib, c = line.split("\t")
        if photo not in photos:
            photos.append(photo)
        secs.setdefault((photo, tool), []).append(float(s))
        rss.setdefault((photo, tool), []).append(int(kib))
        cpu.setdefault((photo, tool), []).append(float(c))

    rows, failures, checks = [], [], []
    for photo in photos:
        stem = Path(photo).stem
        out = {t: Path(outdir) / t / stem / "image.webp" for t in TOOLS}
        original = oriented(photo)
        want = expected_size(*original.size)
        sizes = {}
        for t in TOOLS:
            with Image.open(out[t]) as im:
                sizes[t] = im.size
            w, h = sizes[t]
            if max(w, h) > BOX or abs(w - want[0]) > 1 or abs(h - want[1]) > 1:
                checks.append(f"{stem}: {t} wrote {w}×{h}, expected {want[0]}×{want[1]} (±1)")
        refs = {}
        q = {}
        for t in ("processor", "vips"):
            if sizes[t] not in refs:
                refs[sizes[t]] = reference_luma(original, sizes[t])
            q[t] = ssim(decoded_luma(out[t]), refs[sizes[t]])
        meta = {t: metadata_bytes(out[t]) for t in TOOLS}
        if meta["processor"]:
            checks.append(f"{stem}: processor output carries {meta['processor']} bytes of EXIF/XMP/ICC")
        # Bytes compared are the image data: metadata chunks do not count (vipsthumbnail 8.14 keeps
        # EXIF in WebP despite `strip`, libvips#3340; the processor's own metadata is checked above).
        size = {t: out[t].stat().st_size - meta[t] for t in TOOLS}
        m = {t: median(secs[(photo, t)]) for t in TOOLS}
        c = {t: median(cpu[(photo, t)]) for t in ("processor", "vips")}
        row = {
            "photo": stem,
            "mp": original.size[0] * original.size[1] / 1e6,
            **{f"s_{t}": m[t] for t in TOOLS},
            "r_vips": m["processor"] / m["vips"],
            "r_pillow": m["processor"] / m["pillow"],
            "cpu_p": c["processor"], "cpu_v": c["vips"], "r_cpu": c["processor"] / max(c["vips"], 0.005),
            "ssim_p": q["processor"], "ssim_v": q["vips"],
            "bytes_p": size["processor"], "bytes_v": size["vips"],
            "meta_v": meta["vips"],
            **{f"rss_{t}": max(rss[(photo, t)]) / 1024 for t in TOOLS},
        }
        row["ssim_ok"] = row["ssim_p"] >= row["ssim_v"] - SSIM_SLACK
        row["bytes_ok"] = row["bytes_p"] <= BYTES_SLACK * row["bytes_v"]
        rows.append(row)
        print(f"quality {stem}: SSIM processor {q['processor']:.4f}, vips {q['vips']:.4f}", file=sys.stderr)

    rounds = len(secs[(photos[0], "processor")])
    print(f"\n{len(photos)} photos, {rounds} interleaved rounds each (processor, vips, Pillow); "
          "times are medians, RSS the peak over the rounds, bytes exclude metadata chunks\n")
    print("| photo | MP | processor s | vips s | Pillow s | p/vips | p/Pillow | CPU s p | CPU s vips | CPU p/vips "
          "| SSIM p | SSIM vips | bytes p | bytes vips | RSS MiB p | RSS vips | RSS Pillow |")
    print("|---|" + "---:|" * 16)

    def line(r, name, mark=lambda ok: ""):
        print(f"| {name} | {r['mp']:.1f} | {r['s_processor']:.3f} | {r['s_vips']:.3f} | {r['s_pillow']:.3f} "
              f"| {r['r_vips']:.2f} | {r['r_pillow']:.2f} | {r['cpu_p']:.2f} | {r['cpu_v']:.2f} | {r['r_cpu']:.2f} "
              f"| {r['ssim_p']:.4f}{mark(r.get('ssim_ok', True))} "
              f"| {r['ssim_v']:.4f} | {r['bytes_p']:,.0f}{mark(r.get('bytes_ok', True))} | {r['bytes_v']:,.0f} "
              f"| {r['rss_processor']:.0f} | {r['rss_vips']:.0f} | {r['rss_pillow']:.0f} |")

    for r in rows:
        line(r, r["photo"], mark=lambda ok: "" if ok else " ✗")
    med = {k: median(r[k] for r in rows) for k in rows[0] if k not in ("photo", "ssim_ok", "bytes_ok")}
    line(med, "**median**")

    tp = {}
    for l in Path(throughput_tsv).read_text().splitlines():
        tool, _, s, n = l.split("\t")
        tp.setdefault(tool, []).append((float(s), int(n)))
    print(f"\n| throughput, 2 at a time ({len(tp['processor'])} rounds, median) | total s | images/s |")
    print("|---|---:|---:|")
    ips = {}
    for tool, label in (("processor", "processor"), ("vips", "vipsthumbnail")):
        total, n = median(s for s, _ in tp[tool]), tp[tool][0][1]
        ips[tool] = n / total
        print(f"| {label} | {total:.2f} | {ips[tool]:.1f} |")
    print(f"\nthroughput ratio processor/vips: {ips['processor'] / ips['vips']:.2f}")
    batch = batch_table(batch_tsv, median) if batch_tsv and Path(batch_tsv).stat().st_size else None
    if any(r["meta_v"] for r in rows):
        print(f"(vipsthumbnail left {sum(r['meta_v'] for r in rows):,} bytes of metadata in its WebPs despite "
              "`strip`, libvips#3340; they are not counted in its bytes)")

    if (photos[0], "unisolated") in secs:
        goals_iso = isolation_table(photos, secs, median)
    else:
        goals_iso = []

    ssim_bad = [r["photo"] for r in rows if not r["ssim_ok"]]
    bytes_bad = [r["photo"] for r in rows if not r["bytes_ok"]]
    goals = [
        (med["r_vips"] <= MAX_RATIO_VIPS,
         f"time: median ratio processor/vips {med['r_vips']:.2f} (goal ≤ {MAX_RATIO_VIPS})"),
        (med["r_pillow"] <= MAX_RATIO_PILLOW,
         f"time: median ratio processor/Pillow {med['r_pillow']:.2f} (goal ≤ {MAX_RATIO_PILLOW})"),
        (med["r_cpu"] <= MAX_CPU_RATIO_VIPS,
         f"CPU, one process per photo: median ratio processor/vips {med['r_cpu']:.2f} (goal ≤ {MAX_CPU_RATIO_VIPS})"),
        *([(batch <= MAX_CPU_RATIO_VIPS,
            f"CPU, all photos in one process: processor/vips {batch:.2f} (goal ≤ {MAX_CPU_RATIO_VIPS})")]
          if batch is not None else []),
        (not ssim_bad, f"quality: SSIM processor ≥ vips − {SSIM_SLACK} on {len(rows) - len(ssim_bad)}/{len(rows)} "
                       "photos" + (f" (not: {', '.join(ssim_bad)})" if ssim_bad else "")),
        (not bytes_bad, f"size: bytes processor ≤ {BYTES_SLACK} × vips on {len(rows) - len(bytes_bad)}/{len(rows)} "
                        "photos" + (f" (not: {', '.join(bytes_bad)})" if bytes_bad else "")),
        *goals_iso,
        (not checks, "outputs: every WebP fits 2048×2048 at the expected size, the processor's without metadata"
                     + "".join(f"\n    {c}" for c in checks)),
    ]
    print()
    for ok, text in goals:
        print(("PASS " if ok else "FAIL ") + text)
    return 0 if all(ok for ok, _ in goals) else 1


def main(argv):
    if len(argv) == 3 and argv[0] == "pillow":
        pillow(argv[1], argv[2])
        return 0
    if len(argv) == 3 and argv[0] == "ssim":
        original = oriented(argv[1])
        with Image.open(argv[2]) as im:
            size = im.size
        print(f"{ssim(decoded_luma(argv[2]), reference_luma(original, size)):.5f}")
        return 0
    if len(argv) in (4, 5) and argv[0] == "report":
        return report(*argv[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
