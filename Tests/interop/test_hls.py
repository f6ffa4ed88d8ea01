"""The HLS ladder (issue 17 item 3, profile `video.hls`): clips made here with the ffmpeg CLI go through
`processor process` and through the uploader + processor daemons with a profile that turns the ladder on.

Checked with ffprobe (every rung: H.264 at its size, no faster than the source, keyframes), with a
player (`ffmpeg -i master.m3u8 -map 0 -f null -`: every variant and the audio rendition decode, to the
source's duration), and by reading the playlists (the master's attributes, `#EXT-X-INDEPENDENT-SEGMENTS`,
the same `#EXTINF` list in every rung, every segment starting with a keyframe at the same time in every
rung). The default profile writes no `hls/` at all."""
import json
import re
import subprocess

import pytest

from conftest import wait_until
from test_video import PROCESSOR_BIN, ffmpeg, probe, rate, set_display_rotation, streams

SOURCE_SECONDS = 10
HLS_PROFILE = {"video": {"storyboard": {"enabled": False}, "hls": {"enabled": True}}}
DURATION_TOLERANCE = 0.1


def write_profile(path, profile):
    path.write_text(json.dumps(profile))
    return path


def process(tmp_path, clip, profile):
    out = tmp_path / "out"
    command = [PROCESSOR_BIN, "process", str(clip), "--out", str(out), "--profile", str(profile)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(reports) == 1, result.stdout
    return out / clip.stem, reports[0]


@pytest.fixture(scope="module")
def hd_clip(tmp_path_factory):
    """10 s of 1280×720 testsrc2 at 30 fps with a 48 kHz sine, H.264 + AAC in MP4."""
    path = tmp_path_factory.mktemp("hls-clips") / "hd.mp4"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=30:duration={SOURCE_SECONDS}",
           "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={SOURCE_SECONDS}",
           "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", path)
    return path


@pytest.fixture(scope="module")
def hd_ladder(hd_clip, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hls-hd")
    return process(tmp, hd_clip, write_profile(tmp / "profile.json", HLS_PROFILE))


def attributes(line):
    """The attribute list of an `#EXT-X-…:` line as a dict (quoted values unquoted)."""
    text = line.split(":", 1)[1]
    return {k: v.strip('"') for k, v in re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', text)}


def master_variants(master):
    lines = master.read_text().splitlines()
    return [(attributes(line), lines[i + 1]) for i, line in enumerate(lines) if line.startswith("#EXT-X-STREAM-INF:")]


def segment_list(playlist):
    """[(EXTINF duration, uri)] of a media playlist."""
    lines = playlist.read_text().splitlines()
    return [(float(line[len("#EXTINF:"):].split(",")[0]), lines[i + 1]) for i, line in enumerate(lines) if line.startswith("#EXTINF:")]


def keyframe_times(playlist):
    result = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags",
                             "-of", "csv=p=0", str(playlist)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [float(t) for t, flags in (line.split(",")[:2] for line in result.stdout.splitlines() if line.strip()) if "K" in flags]


def play(master):
    """Plays every variant and the audio rendition with the ffmpeg CLI; returns the seconds decoded."""
    result = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-i", str(master), "-map", "0", "-f", "null", "-"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert not re.search(r"error|corrupt|invalid", result.stderr, re.I), result.stderr[-3000:]
    times = re.findall(r"time=(\d+):(\d+):([\d.]+)", result.stderr)
    assert times, result.stderr[-2000:]
    h, m, s = times[-1]
    return int(h) * 3600 + int(m) * 60 + float(s)


def check_ladder(folder, source, want_sizes):
    """Every property of one ladder; returns the variants' attributes."""
    master = folder / "hls" / "master.m3u8"
    text = master.read_text()
    assert text.startswith("#EXTM3U\n"), text
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in text.splitlines(), text
    media = [attributes(line) for line in text.splitlines() if line.startswith("#EXT-X-MEDIA:")]
    assert len(media) == 1 and media[0]["TYPE"] == "AUDIO" and media[0]["URI"] == "audio/index.m3u8", text
    variants = master_variants(master)
    assert [tuple(map(int, a["RESOLUTION"].split("x"))) for a, _ in variants] == want_sizes, text
    source_video = streams(probe(source), "video")[0]
    source_rate = rate(source_video["avg_frame_rate"])  # "30/1"
    lists = []
    keyframes = []
    for attrs, uri in variants:
        assert attrs["AUDIO"] == media[0]["GROUP-ID"]
        assert re.fullmatch(r"avc1\.(64|4d|42)00[0-9a-f]{2},mp4a\.40\.2", attrs["CODECS"]), attrs
        assert int(attrs["BANDWIDTH"]) >= int(attrs["AVERAGE-BANDWIDTH"]) > 128_000, attrs  # video + the 128 kb/s AAC
        assert float(attrs["FRAME-RATE"]) <= source_rate + 0.001, attrs
        playlist = master.parent / uri
        ptext = playlist.read_text()
        for tag in ("#EXT-X-INDEPENDENT-SEGMENTS", "#EXT-X-PLAYLIST-TYPE:VOD", '#EXT-X-MAP:URI="init.mp4"', "#EXT-X-ENDLIST"):
            assert tag in ptext.splitlines(), (uri, ptext)
        info = probe(playlist)
        video = streams(info, "video")
        assert len(video) == 1 and not streams(info, "audio"), uri  # the audio is its own rendition
        v = video[0]
        assert (v["codec_name"], v["pix_fmt"]) == ("h264", "yuv420p"), v
        assert f"{v['width']}x{v['height']}" == attrs["RESOLUTION"], (v["width"], v["height"], attrs)
        assert not any(side.get("side_data_type") == "Display Matrix" for side in v.get("side_data_list", [])), "turned in the pixels"
        assert rate(v["avg_frame_rate"]) <= source_rate + 0.001, v["avg_frame_rate"]
        segments = segment_list(playlist)
        assert all(0 < d <= 4.0 + 1e-6 for d, _ in segments), segments
        lists.append([d for d, _ in segments])
        # Every segment starts with a keyframe: the keyframes are exactly at the segment starts.
        starts = [sum(d for d, _ in segments[:i]) for i in range(len(segments))]
        keys = keyframe_times(playlist)
        offset = keys[0]  # the composition offset of the first frame (B-frames), the same in every rung
        assert [round(k - offset, 3) for k in keys] == [round(s, 3) for s in starts], (uri, keys, starts)
        keyframes.append(keys)
    assert all(l == lists[0] for l in lists), lists  # the same segment boundaries in every rung
    assert all(k == keyframes[0] for k in keyframes), keyframes
    audio = probe(master.parent / "audio" / "index.m3u8")
    a = streams(audio, "audio")[0]
    assert (a["codec_name"], a.get("profile"), a["channels"], a["sample_rate"]) == ("aac", "LC", 2, "48000"), a
    source_duration = float(probe(source)["format"]["duration"])
    assert abs(float(probe(master)["format"]["duration"]) - source_duration) <= DURATION_TOLERANCE
    assert abs(play(master) - source_duration) <= DURATION_TOLERANCE
    return variants


def test_a_720p_clip_gets_three_aligned_rungs_and_an_aac_rendition(hd_clip, hd_ladder):
    folder, report = hd_ladder
    assert "hls/master.m3u8" in report["outputs"] and "video.mp4" in report["outputs"]
    assert report["timings"]["hls"] > 0
    variants = check_ladder(folder, hd_clip, [(1280, 720), (852, 480), (640, 360)])
    # 4 s segments of a 10 s clip: 4, 4, 2.
    assert [d for d, _ in segment_list(folder / "hls" / variants[0][1])] == [4.0, 4.0, 2.0]
    names = sorted(p.relative_to(folder / "hls").as_posix() for p in (folder / "hls").rglob("*") if p.is_file())
    for rung in ("720p", "480p", "360p", "audio"):
        assert {f"{rung}/index.m3u8", f"{rung}/init.mp4", f"{rung}/seg_00000.m4s", f"{rung}/seg_00002.m4s"} <= set(names), names
    # The MP4 is made as without the ladder.
    mp4 = streams(probe(folder / "video.mp4"), "video")[0]
    assert (mp4["width"], mp4["height"]) == (1280, 720)


def test_a_rotated_phone_clip_gets_portrait_rungs(tmp_path):
    """A phone's portrait clip: stored 640×360 with a 90° display matrix; the rungs are 360×640 pixels
    (turned, no matrix) and half of it: the source is no larger than the smallest box."""
    clip = tmp_path / "phone.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=5", "-f", "lavfi", "-i", "sine=sample_rate=44100:duration=5",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "1", "-shortest", clip)
    set_display_rotation(clip, 90)
    folder, _ = process(tmp_path, clip, write_profile(tmp_path / "profile.json", HLS_PROFILE))
    check_ladder(folder, clip, [(360, 640), (180, 320)])


def test_segment_length_is_configurable(hd_clip, tmp_path):
    profile = {"video": {"storyboard": {"enabled": False}, "hls": {
        "enabled": True, "segmentSeconds": 2, "rungs": [{"maxWidth": 640, "maxHeight": 360, "crf": 28}, {"maxWidth": 320, "maxHeight": 180, "crf": 28}]}}}
    folder, _ = process(tmp_path, hd_clip, write_profile(tmp_path / "profile.json", profile))
    master = folder / "hls" / "master.m3u8"
    variants = master_variants(master)
    assert [a["RESOLUTION"] for a, _ in variants] == ["640x360", "320x180"]
    for _, uri in variants:
        assert [d for d, _ in segment_list(master.parent / uri)] == [2.0] * 5
        assert "#EXT-X-TARGETDURATION:2" in (master.parent / uri).read_text()


def test_the_default_profile_writes_no_hls(hd_clip, tmp_path):
    folder, report = process(tmp_path, hd_clip, write_profile(tmp_path / "profile.json", {}))
    assert not any(name.startswith("hls/") for name in report["outputs"]), report
    assert "hls" not in report["timings"]
    assert not (folder / "hls").exists()
    assert (folder / "video.mp4").exists()


def test_the_daemon_uploads_the_ladder_under_hls_and_lists_the_master(make_stack, tmp_path):
    clip = tmp_path / "short.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=5", "-f", "lavfi", "-i", "sine=sample_rate=48000:duration=5",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", clip)
    stack = make_stack(processor={"PROCESSOR_PROFILE": str(write_profile(tmp_path / "profile.json", HLS_PROFILE))})
    status, body = stack.uploader.curl("-F", f"file=@{clip};type=video/mp4", f"{stack.uploader.url}/upload")
    assert status == 202, body
    job_id = body["jobId"]
    wait_until(lambda: (stack.status(job_id) or {}).get("status") in ("succeeded", "failed"), timeout=300, message="job done")
    document = stack.status(job_id)
    assert document["status"] == "succeeded", document
    outputs = {o["name"]: o for o in document["outputs"]}
    assert document["outputs"][0]["name"] == "video.mp4"  # the page's main output, as before
    master = outputs["hls/master.m3u8"]
    assert master["contentType"] == "application/vnd.apple.mpegurl"
    assert master["blob"] == f"{job_id}/hls/master.m3u8"
    assert (master["width"], master["height"]) == (640, 360)
    assert not any(name.startswith("hls/") and name != "hls/master.m3u8" for name in outputs), outputs  # segments are not listed
    blobs = stack.processed(job_id)
    for rung in ("360p", "180p", "audio"):
        assert {f"{job_id}/hls/{rung}/index.m3u8", f"{job_id}/hls/{rung}/init.mp4", f"{job_id}/hls/{rung}/seg_00000.m4s",
                f"{job_id}/hls/{rung}/seg_00001.m4s"} <= set(blobs), blobs
    container = stack.blobs.get_container_client("processed")
    types = {name: container.get_blob_client(name).get_blob_properties().content_settings.content_type
             for name in blobs if name.startswith(f"{job_id}/hls/")}
    assert types[f"{job_id}/hls/master.m3u8"] == "application/vnd.apple.mpegurl"
    assert types[f"{job_id}/hls/360p/seg_00000.m4s"] == "video/iso.segment"
    assert types[f"{job_id}/hls/360p/init.mp4"] == "video/mp4"
    assert types[f"{job_id}/hls/audio/index.m3u8"] == "application/vnd.apple.mpegurl"
    # The uploaded tree plays as it was written: download it and play the master.
    local = tmp_path / "downloaded"
    for name in types:
        path = local / name[len(job_id) + 1:]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(container.get_blob_client(name).download_blob().readall())
    assert abs(play(local / "hls" / "master.m3u8") - 5.0) <= DURATION_TOLERANCE


@pytest.mark.parametrize("links", ["sas", "proxy"])
def test_the_status_link_of_the_master_plays_without_a_key(make_stack, tmp_path, links):
    """What a player gets from the status document: the master's link (no key). The uploader serves
    every playlist itself with each URI replaced by its file's signed link (a read SAS for segments in
    sas mode, a proxy link in proxy mode), so the whole ladder plays from that one link."""
    import urllib.error
    import urllib.parse
    import urllib.request
    clip = tmp_path / "short.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=5", "-f", "lavfi", "-i", "sine=sample_rate=48000:duration=5",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", clip)
    stack = make_stack(UPLOADER_LINKS=links, processor={"PROCESSOR_PROFILE": str(write_profile(tmp_path / "profile.json", HLS_PROFILE))})
    status, body = stack.uploader.curl("-F", f"file=@{clip};type=video/mp4", f"{stack.uploader.url}/upload")
    assert status == 202, body
    job_id = body["jobId"]
    wait_until(lambda: (stack.status(job_id) or {}).get("status") in ("succeeded", "failed"), timeout=300, message="job done")
    status, job = stack.uploader.curl(f"{stack.uploader.url}/jobs/{job_id}")
    assert status == 200 and job["status"] == "succeeded", job
    url = urllib.parse.urljoin(stack.uploader.url, {o["name"]: o for o in job["outputs"]}["hls/master.m3u8"]["url"])
    assert url.startswith(f"{stack.uploader.url}/jobs/{job_id}/outputs/hls/master.m3u8?"), url  # playlists come from us in both modes
    master = urllib.request.urlopen(url, timeout=30).read().decode()
    variants = [line for line in master.splitlines() if line and not line.startswith("#")]
    assert variants and all(f"/jobs/{job_id}/outputs/hls/" in v and "signature=" in v for v in variants), master
    media = urllib.request.urlopen(urllib.parse.urljoin(url, variants[0]), timeout=30).read().decode()
    segments = [line for line in media.splitlines() if line and not line.startswith("#")]
    want = stack.storage.blob_url if links == "sas" else f"/jobs/{job_id}/outputs/hls/"
    assert segments and all(want in s for s in segments), media
    # A relative name resolved against the signed link (what a player did before) is refused.
    bare = urllib.parse.urljoin(url.split("?")[0], "360p/index.m3u8")
    try:
        urllib.request.urlopen(bare, timeout=30)
        raise AssertionError("an unsigned playlist opened")
    except urllib.error.HTTPError as error:
        assert error.code == 401
    # A player with nothing but the link plays the whole ladder.
    result = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-i", url, "-map", "0", "-f", "null", "-"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    h, m, s = re.findall(r"time=(\d+):(\d+):([\d.]+)", result.stderr)[-1]
    assert abs(int(h) * 3600 + int(m) * 60 + float(s) - 5.0) <= DURATION_TOLERANCE, result.stderr[-2000:]
