"""bench/webp_search.py — search libwebp's encoder parameters (the profile's `image.webp` section)
for the least CPU per photo at the quality and size of vipsthumbnail's q85/effort 4 WebP.

  python webp_search.py BIN PROFILE OUTFILE PHOTO...   (bench/webp-search.sh sets it up)

Environment: BUDGET (candidates whose quality is bisected, default 40), ROUNDS (interleaved CPU rounds
for the finalists, default 5), FINALISTS (default 6), Q_STEP (quality resolution, default 0.5),
ISOLATION (`processor process --isolation`, default process, as the daemon runs).

Every number comes from the shipped path: the release `processor process` on each photo with a
profile written from PROFILE (box, tiers, thumbnail) whose `image.webp` section is the candidate.
The reference is vipsthumbnail doing the same job (bench/images.sh's command), run once per photo
for its SSIM and bytes, and beside the candidates in the CPU rounds. SSIM is images_compare.py's
(luma, against a high-precision Lanczos resize of the original), bytes exclude metadata chunks.

A candidate is a set of encoder knobs; its quality is bisected to the lowest value at which EVERY
photo's SSIM is ≥ vips's − 0.002 (hardest photo first, so a failing quality costs one run). At that
quality it must also keep EVERY photo's bytes ≤ 1.03 × vips's, or it is out. CPU is user + sys of the
whole process tree (`os.wait4`), as a ratio to vipsthumbnail's on the same photo in the same round.

Coarse to fine, within BUDGET:
  1. methods 0…6, everything else at libwebp's defaults;
  2. around the cheapest methods (by a one-round CPU screen): one knob at a time at coarse values
     (sns, filterStrength, filterSharpness, segments, partitions, pass, preprocessing, sharpYUV,
     threadLevel; partitions and pass only at methods 0…2, the only ones where libwebp uses them);
  3. greedy combination: from the best base, add the single-knob changes that helped (less CPU, or
     fewer bytes at the SSIM floor), keeping each that improves the score; then halve the steps
     around the numeric knobs that moved.
Then the FINALISTS best feasible candidates and today's default (q85 method 4) run ROUNDS interleaved
rounds beside vipsthumbnail (photo by photo: vips, then the candidates in a rotated order); the table
ranks them by the median over photos of median candidate CPU / median vips CPU.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import images_compare  # noqa: E402  (the SSIM, the reference resize and the metadata rule of bench/images.sh)

SSIM_SLACK = images_compare.SSIM_SLACK
BYTES_SLACK = images_compare.BYTES_SLACK
GOAL_RATIO = 0.85  # issue 19: CPU per image ≤ 0.85 × vipsthumbnail's

DEFAULTS = {  # ImageProfile.WebP's defaults (libwebp's WebPConfigInit, thread level 1)
    "method": 4, "sns": 50, "filterStrength": 60, "filterSharpness": 0, "segments": 4, "partitions": 0,
    "pass": 1, "preprocessing": 0, "sharpYUV": False, "threadLevel": 1,
}
COARSE = {  # stage 2: each knob alone at these values
    "sns": [0, 25, 75, 100],
    "filterStrength": [0, 30, 90],
    "filterSharpness": [3, 7],
    "segments": [1, 2],
    "partitions": [3],
    "pass": [2],
    "preprocessing": [1, 2],
    "sharpYUV": [True],
    "threadLevel": [0],
}
RANGES = {"sns": (0, 100), "filterStrength": (0, 100), "filterSharpness": (0, 7), "segments": (1, 4)}
Q_LOW, Q_HIGH = 40.0, 100.0


def env_int(name, default):
    return int(os.environ.get(name, default))


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def key(knobs):
    return tuple(sorted(knobs.items()))


def describe(knobs):
    """The knobs that differ from the defaults, as profile keys."""
    diff = [f"{k}={json.dumps(v)}" for k, v in knobs.items() if DEFAULTS[k] != v and k != "method"]
    return f"method={knobs['method']}" + ("".join(", " + d for d in diff) if diff else "")


def run_timed(cmd):
    """Runs `cmd`; returns its (and its reaped children's) user + sys CPU seconds."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {err.decode(errors='replace')[-2000:]}")
    return usage.ru_utime + usage.ru_stime


class Search:
    def __init__(self, binary, base_profile, photos, work):
        self.binary = binary
        self.base = json.loads(Path(base_profile).read_text())
        self.photos = photos
        self.work = Path(work)
        self.isolation = os.environ.get("ISOLATION", "process")
        self.q_step = float(os.environ.get("Q_STEP", "0.5"))
        self.refs = {}      # (photo, size) -> reference luma
        self.originals = {}  # photo -> the oriented original, while a reference is made from it
        self.vips = {}      # photo -> {"ssim", "bytes", "size"}
        self.cache = {}     # (knobs key, quality, photo) -> (ssim, bytes)
        self.results = {}   # knobs key -> result dict
        self.evaluated = 0
        self.order = list(photos)  # hardest photo (least SSIM margin seen) first

    # ---- the tools ------------------------------------------------------------------------------

    def profile_path(self, knobs, quality):
        profile = json.loads(json.dumps(self.base))
        profile.setdefault("image", {})["webp"] = {"quality": quality, **knobs}
        path = self.work / "profiles" / (f"q{quality}-" + "-".join(f"{k}{int(v)}" for k, v in sorted(knobs.items())) + ".json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(profile))
        return path

    def processor_cmd(self, photo, knobs, quality, out):
        return [self.binary, "process", photo, "--out", str(out), "--profile", str(self.profile_path(knobs, quality)),
                "--isolation", self.isolation]

    def vips_cmd(self, photo, out):
        # bench/images.sh's command: `>` only ever shrinks; EXIF orientation applied; absolute output path.
        return ["vipsthumbnail", photo, "--size", "2048x2048>", "-o", f"{out}/image.webp[Q=85,effort=4,strip]"]

    def out_dir(self, tag):
        d = self.work / "out" / tag
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        return d

    def measure(self, photo, path):
        """(SSIM, bytes without metadata, size) of the WebP at `path` for `photo`."""
        from PIL import Image
        with Image.open(path) as im:
            size = im.size
        if (photo, size) not in self.refs:
            if photo not in self.originals:
                self.originals[photo] = images_compare.oriented(photo)
            original = self.originals[photo]
            self.refs[(photo, size)] = images_compare.reference_luma(original, size)
        ssim = images_compare.ssim(images_compare.decoded_luma(path), self.refs[(photo, size)])
        return ssim, path.stat().st_size - images_compare.metadata_bytes(path), size

    def reference(self):
        for photo in self.photos:
            out = self.out_dir("vips")
            run_timed(self.vips_cmd(photo, out))
            ssim, size_bytes, size = self.measure(photo, out / "image.webp")
            want = images_compare.expected_size(*self.originals[photo].size)
            if abs(size[0] - want[0]) > 1 or abs(size[1] - want[1]) > 1:
                raise RuntimeError(f"vips wrote {size} for {photo}, expected {want}")
            self.vips[photo] = {"ssim": ssim, "bytes": size_bytes, "size": size}
            log(f"vips {Path(photo).stem}: {size[0]}×{size[1]}, SSIM {ssim:.4f}, {size_bytes:,} bytes")
            self.originals.pop(photo)  # the reference luma is cached; the decoded original is not needed again

    def encode(self, photo, knobs, quality):
        """(SSIM, bytes) of the processor's image.webp for `photo` at these knobs and quality."""
        k = (key(knobs), quality, photo)
        if k not in self.cache:
            out = self.out_dir("cand")
            run_timed(self.processor_cmd(photo, knobs, quality, out))
            webp = out / Path(photo).stem / "image.webp"
            ssim, size_bytes, size = self.measure(photo, webp)
            if abs(size[0] - self.vips[photo]["size"][0]) > 1 or abs(size[1] - self.vips[photo]["size"][1]) > 1:
                raise RuntimeError(f"processor wrote {size} for {photo}, vips {self.vips[photo]['size']}")
            self.cache[k] = (ssim, size_bytes)
        return self.cache[k]

    # ---- one candidate ---------------------------------------------------------------------------

    def passes_ssim(self, knobs, quality):
        """True when every photo meets the SSIM floor at `quality` (stops at the first that does not)."""
        for photo in self.order:
            ssim, _ = self.encode(photo, knobs, quality)
            if ssim < self.vips[photo]["ssim"] - SSIM_SLACK:
                self.order.remove(photo)
                self.order.insert(0, photo)  # test it first next time
                return False
        return True

    def lowest_quality(self, knobs, start):
        """The lowest quality (on the Q_STEP grid) at which every photo meets the SSIM floor, or None."""
        q = min(Q_HIGH, max(Q_LOW, round(start / self.q_step) * self.q_step))
        step = 2.0  # neighbouring candidates land within a step or two of each other
        if self.passes_ssim(knobs, q):
            hi = q
            lo = q - step
            while lo >= Q_LOW and self.passes_ssim(knobs, lo):
                hi, lo = lo, lo - step
            lo = max(lo, Q_LOW - self.q_step)
        else:
            lo = q
            hi = q + step
            while hi <= Q_HIGH and not self.passes_ssim(knobs, hi):
                lo, hi = hi, hi + step
            if hi > Q_HIGH:
                if not self.passes_ssim(knobs, Q_HIGH):
                    return None
                hi = Q_HIGH
        # lo fails (or is below the range), hi passes
        while hi - lo > self.q_step + 1e-9:
            mid = round((lo + hi) / 2 / self.q_step) * self.q_step
            if mid <= lo or mid >= hi:
                break
            if self.passes_ssim(knobs, mid):
                hi = mid
            else:
                lo = mid
        return hi

    def screen_cpu(self, knobs, quality):
        """One interleaved round (candidate, vips per photo): the median per-photo CPU ratio."""
        ratios = []
        for photo in self.photos:
            c = run_timed(self.processor_cmd(photo, knobs, quality, self.out_dir("screen")))
            v = run_timed(self.vips_cmd(photo, self.out_dir("screen-vips")))
            ratios.append(c / v)
        return statistics.median(ratios)

    def evaluate(self, knobs, stage):
        k = key(knobs)
        if k in self.results:
            return self.results[k]
        if self.evaluated >= self.budget:
            return None
        self.evaluated += 1
        start = self.q_hint.get(knobs["method"], 85.0)
        t0 = time.monotonic()
        q = self.lowest_quality(knobs, start)
        result = {"knobs": knobs, "stage": stage, "quality": q, "feasible": False}
        if q is None:
            result.update(bytes_ratio=float("inf"), cpu=float("inf"))
        else:
            self.q_hint.setdefault(knobs["method"], q)
            per = {p: self.encode(p, knobs, q) for p in self.photos}
            result["ssim_margin"] = min(per[p][0] - self.vips[p]["ssim"] for p in self.photos)
            result["bytes_ratio"] = max(per[p][1] / self.vips[p]["bytes"] for p in self.photos)
            result["feasible"] = result["bytes_ratio"] <= BYTES_SLACK
            result["cpu"] = self.screen_cpu(knobs, q)
        self.results[k] = result
        log(f"[{self.evaluated}/{self.budget} {stage}] {describe(knobs)}: q {q}, "
            + (f"max bytes {result['bytes_ratio']:.3f}× vips, CPU ≈ {result['cpu']:.2f}× vips, "
               f"{'feasible' if result['feasible'] else 'too big'}" if q is not None else "never reaches the SSIM floor")
            + f" ({time.monotonic() - t0:.0f} s)")
        return result

    @staticmethod
    def score(result):
        """Lower is better: CPU ratio among the feasible; the infeasible after, by how far over on bytes."""
        if result is None or result["quality"] is None:
            return float("inf")
        if result["feasible"]:
            return result["cpu"]
        return 10 + result["cpu"] + 10 * (result["bytes_ratio"] - BYTES_SLACK)

    # ---- the search --------------------------------------------------------------------------------

    def search(self, budget):
        self.budget = budget
        self.q_hint = {}
        # 1. methods
        methods = []
        for m in (4, 3, 2, 5, 1, 0, 6):  # 4 first: today's, its quality seeds the rest
            r = self.evaluate({**DEFAULTS, "method": m}, "method")
            if r is not None:
                self.q_hint.setdefault(m, r["quality"] or 85.0)
                methods.append(r)
        # 2. one knob at a time around the cheapest methods: the two cheapest by CPU among those that
        #    reach the SSIM floor (feasible or not: a knob may bring the bytes down), and the cheapest feasible.
        reach = [r for r in methods if r["quality"] is not None]
        bases = sorted(reach, key=lambda r: r["cpu"])[:2]
        feasible = sorted((r for r in reach if r["feasible"]), key=lambda r: r["cpu"])
        if feasible and feasible[0] not in bases:
            bases.append(feasible[0])
        singles = {}
        for base in bases:
            for knob, values in COARSE.items():
                if knob in ("partitions", "pass") and base["knobs"]["method"] >= 3:
                    continue  # methods 3…6 buffer their tokens: one partition, one pass (WebPCodecTests)
                for v in values:
                    r = self.evaluate({**base["knobs"], knob: v}, "one knob")
                    if r is not None:
                        singles.setdefault(key(base["knobs"]), []).append((knob, v, r))
        # 3. greedy combination from the best so far, then finer steps on the numeric knobs that moved
        best = min(self.results.values(), key=self.score)
        base_key = min(singles, key=lambda k: self.score(self.results[k])) if singles else None
        if base_key is not None and self.score(self.results[base_key]) < float("inf"):
            base = self.results[base_key]
            helpful = []
            for knob, v, r in singles[base_key]:
                less_cpu = r["feasible"] and r["cpu"] < base["cpu"] * 0.98
                fewer_bytes = r["quality"] is not None and r["bytes_ratio"] < base["bytes_ratio"] - 0.005 and r["cpu"] < base["cpu"] * 1.03
                if less_cpu or fewer_bytes:
                    helpful.append((self.score(r), knob, v))
            current, used = base, set()
            for _, knob, v in sorted(helpful, key=lambda t: t[0]):
                if knob in used:
                    continue
                r = self.evaluate({**current["knobs"], knob: v}, "combine")
                if r is not None and self.score(r) < self.score(current):
                    current = r
                    used.add(knob)
            best = min(self.results.values(), key=self.score)
            for knob, (lo, hi) in RANGES.items():
                v, d = best["knobs"][knob], best["knobs"][knob] - DEFAULTS[knob]
                if d == 0:
                    continue
                step = max(1, abs(d) // 2)
                for nv in (v - step, v + step):
                    if lo <= nv <= hi and nv != DEFAULTS[knob]:
                        r = self.evaluate({**best["knobs"], knob: nv}, "fine")
                        if r is not None and self.score(r) < self.score(best):
                            best = r
        log(f"{self.evaluated} candidates evaluated")

    # ---- the final CPU rounds -------------------------------------------------------------------

    def final(self, finalists, rounds):
        today = {"knobs": dict(DEFAULTS), "quality": 85.0, "stage": "today (default profile)"}
        entries = [today] + finalists
        cpu = {(i, p): [] for i in range(len(entries)) for p in self.photos}
        vips = {p: [] for p in self.photos}
        for rnd in range(rounds):
            for p in self.photos:
                vips[p].append(run_timed(self.vips_cmd(p, self.out_dir("final-vips"))))
                n = len(entries)
                for j in range(n):
                    i = (j + rnd) % n  # rotate who runs right after vips
                    e = entries[i]
                    cpu[(i, p)].append(run_timed(self.processor_cmd(p, e["knobs"], e["quality"], self.out_dir("final"))))
            log(f"CPU round {rnd + 1}/{rounds} done")
        med = statistics.median
        rows = []
        for i, e in enumerate(entries):
            ratios = [med(cpu[(i, p)]) / med(vips[p]) for p in self.photos]
            per = {p: self.encode(p, e["knobs"], e["quality"]) for p in self.photos}
            rows.append({
                **e, "ratio": med(ratios), "ratio_max": max(ratios),
                "cpu_s": med(med(cpu[(i, p)]) for p in self.photos),
                "ssim_margin": min(per[p][0] - self.vips[p]["ssim"] for p in self.photos),
                "bytes_ratio": max(per[p][1] / self.vips[p]["bytes"] for p in self.photos),
                "bytes_med": med(per[p][1] / self.vips[p]["bytes"] for p in self.photos),
                "per_photo": {Path(p).stem: {"cpu_ratio": r, "ssim": per[p][0], "ssim_vips": self.vips[p]["ssim"],
                                             "bytes": per[p][1], "bytes_vips": self.vips[p]["bytes"]}
                              for p, r in zip(self.photos, ratios)},
            })
            rows[-1]["ok"] = rows[-1]["ssim_margin"] >= -SSIM_SLACK and rows[-1]["bytes_ratio"] <= BYTES_SLACK
        vips_s = med(med(vips[p]) for p in self.photos)
        return rows, vips_s


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    binary, base_profile, outfile, *photos = argv
    budget = env_int("BUDGET", 40)
    rounds = env_int("ROUNDS", 5)
    n_final = env_int("FINALISTS", 6)
    with tempfile.TemporaryDirectory(prefix="webp-search.") as work:
        s = Search(binary, base_profile, photos, work)
        t0 = time.monotonic()
        log(f"{len(photos)} photos; vipsthumbnail references…")
        s.reference()
        s.search(budget)
        feasible = sorted((r for r in s.results.values() if r["feasible"]), key=lambda r: r["cpu"])
        finalists = [r for r in feasible if key(r["knobs"]) != key(DEFAULTS) or r["quality"] != 85.0][:n_final]
        log(f"{len(feasible)} feasible candidates; {len(finalists)} finalists, {rounds} interleaved CPU rounds…")
        rows, vips_s = s.final(finalists, rounds)
        minutes = (time.monotonic() - t0) / 60

    print(f"\n{len(photos)} photos, {s.evaluated} candidates (quality bisected to SSIM ≥ vips − {SSIM_SLACK} on every "
          f"photo, step {s.q_step}), {rounds} interleaved CPU rounds; {minutes:.0f} min. CPU = user + sys of the "
          f"process tree; vipsthumbnail median {vips_s:.3f} s per photo.\n")
    print("| rank | candidate (image.webp) | quality | CPU / vips, median over photos | worst photo | "
          "min SSIM − vips | max bytes / vips | median bytes / vips | meets SSIM and bytes |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---|")
    ranked = sorted(rows[1:], key=lambda r: r["ratio"])
    for n, r in enumerate(ranked + [rows[0]], 1):
        label = describe(r["knobs"]) if r is not rows[0] else "today: " + describe(r["knobs"])
        print(f"| {n if r is not rows[0] else '—'} | {label} | {r['quality']:g} | {r['ratio']:.3f} | {r['ratio_max']:.3f} "
              f"| {r['ssim_margin']:+.4f} | {r['bytes_ratio']:.3f} | {r['bytes_med']:.3f} | {'yes' if r['ok'] else 'no'} |")
    out = {"photos": photos, "vips": s.vips, "candidates": list(s.results.values()), "final": rows}
    Path(outfile).write_text(json.dumps(out, indent=1, default=str))
    winners = [r for r in ranked if r["ok"]]
    if not winners:
        print("\nno candidate meets SSIM and bytes on every photo")
        return 1
    w = winners[0]
    webp = {"quality": w["quality"], **{k: v for k, v in w["knobs"].items()}}
    print(f"\nwinner: {describe(w['knobs'])}, quality {w['quality']:g}: CPU {w['ratio']:.3f}× vipsthumbnail "
          f"(today's default {rows[0]['ratio']:.3f}×; goal ≤ {GOAL_RATIO}), SSIM ≥ vips {w['ssim_margin']:+.4f} on every "
          f"photo, bytes ≤ {w['bytes_ratio']:.3f}× vips")
    print(f'profile: "webp": {json.dumps(webp)}')
    print(f"details: {outfile}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
