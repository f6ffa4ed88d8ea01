"""bench/images_avif.py — the AVIF row of bench/images.sh: AVIF against WebP at equal SSIM.

  python bench/images_avif.py PROCESSOR PROFILE ROUNDS SPEED PHOTO…

For each photo, the processor (`processor process`, the profile's box and WebP settings plus
`image.avif` at libaom speed SPEED) writes image.webp and image.avif from the same pixels. The WebP's
SSIM (luma, against the Lanczos reference of images_compare.py) is the target; a bisection over the
profile's AVIF quality (0–100) finds the lowest quality whose AVIF SSIM is at least the WebP's. At
that quality, the search's run and ROUNDS more time the two encoders inside the processor (its JSON `timings`:
`encode` is the WebP alone — the profile writes no thumbnail or JPEG — and `avif` the AVIF alone;
both are the C libraries' work, libwebp and libaom, timed around one call each).
Prints a Markdown table: bytes ratio AVIF/WebP at equal SSIM and encode-time ratio, per photo and
median. Informational: no goal, exit 0 unless a run fails.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from images_compare import decoded_luma, oriented, reference_luma, ssim  # noqa: E402


def run(processor, base, photo, quality, speed, work):
    profile = json.loads(json.dumps(base))
    profile.setdefault("image", {})["avif"] = {"enabled": True, "quality": quality, "speed": speed}
    path = Path(work) / "profile.json"
    path.write_text(json.dumps(profile))
    out = Path(work) / "out"
    result = subprocess.run([processor, "process", photo, "--out", str(out), "--profile", str(path)],
                            capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        sys.exit(f"processor failed on {photo}: {result.stderr}")
    report = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("{")))
    stem = Path(photo).stem
    return report, out / stem / "image.webp", out / stem / "image.avif"


def main(argv):
    processor, profile_path, rounds, speed, *photos = argv
    base = json.loads(Path(profile_path).read_text())
    rows = []
    for photo in photos:
        with tempfile.TemporaryDirectory(prefix="bench-avif.") as work:
            report, webp, _ = run(processor, base, photo, 50, int(speed), work)
            with Image.open(webp) as im:
                size = im.size
            ref = reference_luma(oriented(photo), size)
            target = ssim(decoded_luma(webp), ref)
            webp_bytes = webp.stat().st_size
            seen = {}

            def measure(q):
                if q not in seen:
                    report, _, avif = run(processor, base, photo, q, int(speed), work)
                    seen[q] = (ssim(decoded_luma(avif), ref), avif.stat().st_size, report["timings"])
                return seen[q]

            lo, hi = 0, 100  # invariant: quality hi reaches the target (100 is lossless quantization)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if measure(mid)[0] >= target:
                    hi = mid
                else:
                    lo = mid
            quality = hi
            avif_ssim, avif_bytes, timings = measure(quality)
            webp_s, avif_s = [timings["encode"]], [timings["avif"]]  # the search's run at that quality, then ROUNDS more
            for _ in range(int(rounds)):
                report, _, _ = run(processor, base, photo, quality, int(speed), work)
                webp_s.append(report["timings"]["encode"])
                avif_s.append(report["timings"]["avif"])
        row = dict(photo=Path(photo).stem, size=f"{size[0]}×{size[1]}", ssim_w=target, ssim_a=avif_ssim, q=quality,
                   bytes_w=webp_bytes, bytes_a=avif_bytes, ms_w=statistics.median(webp_s) * 1000,
                   ms_a=statistics.median(avif_s) * 1000)
        row["bytes_r"] = row["bytes_a"] / row["bytes_w"]
        row["time_r"] = row["ms_a"] / row["ms_w"]
        rows.append(row)
        print(f"{row['photo']}: AVIF q{quality} {avif_bytes:,} B vs WebP {webp_bytes:,} B ({row['bytes_r']:.2f}), "
              f"encode {row['ms_a']:.0f} vs {row['ms_w']:.0f} ms", file=sys.stderr)

    print(f"\nAVIF (libavif {os.environ.get('AVIF_VERSION', '0.11.1')}, libaom, speed {speed}) vs WebP q85 m4, "
          f"same pixels, AVIF quality searched for SSIM ≥ the WebP's; encode times: median of {int(rounds) + 1} runs\n")
    print("| photo | size | SSIM WebP | AVIF quality | SSIM AVIF | WebP bytes | AVIF bytes | bytes AVIF/WebP "
          "| WebP encode ms | AVIF encode ms | time AVIF/WebP |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['photo']} | {r['size']} | {r['ssim_w']:.4f} | {r['q']} | {r['ssim_a']:.4f} | {r['bytes_w']:,} "
              f"| {r['bytes_a']:,} | {r['bytes_r']:.2f} | {r['ms_w']:.0f} | {r['ms_a']:.0f} | {r['time_r']:.1f} |")
    med = {k: statistics.median(r[k] for r in rows) for k in ("q", "bytes_r", "ms_w", "ms_a", "time_r")}
    print(f"| **median** | | | {med['q']:g} | | | | **{med['bytes_r']:.2f}** | {med['ms_w']:.0f} | {med['ms_a']:.0f} "
          f"| **{med['time_r']:.1f}** |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
