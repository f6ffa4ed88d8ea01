import Foundation
import QueueKit
import Testing

@testable import Uploader

@Suite("Readiness window and signed output links")
struct ReadinessAndLinksTests {
    @Test("readiness fails only after storage has failed for longer than the window; a success resets it")
    func readinessWindow() {
        let window = ReadinessWindow(tolerance: .seconds(30))
        let t0 = ContinuousClock.now
        // (seconds after t0, check healthy, expected state)
        let steps: [(Int, Bool, ReadinessWindow.State)] = [
            (0, true, .ready), (5, false, .degraded), (20, false, .degraded), (34, false, .degraded),
            (35, false, .unavailable), (40, true, .ready), (41, false, .degraded), (80, false, .unavailable),
        ]
        for (seconds, healthy, expected) in steps {
            #expect(window.record(healthy: healthy, now: t0 + .seconds(seconds)) == expected, "at \(seconds) s")
        }
        let strict = ReadinessWindow(tolerance: .zero)
        #expect(strict.record(healthy: false, now: t0) == .unavailable)
    }

    @Test("a signed link opens only its own path, until it expires, with the deployment's keys")
    func signedLinks() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let signer = OutputLinkSigner(secret: nil, apiKeys: ["k1", "k2"])
        let path = "/jobs/0b5c4e2e-8d1c-4d9e-9a57-2f0b1c3d4e5f/outputs/image.webp"
        let link = signer.sign(path: path, tenant: "acme", ttlSeconds: 3600, now: now)
        let query = try #require(URLComponents(string: link)?.queryItems)
        let expires = try #require(query.first { $0.name == "expires" }?.value)
        let sig = try #require(query.first { $0.name == "signature" }?.value)
        #expect(link.hasPrefix(path + "?"))
        #expect(expires == "1800003600")
        #expect(!link.contains("k1") && !link.contains("k2"))

        #expect(signer.verify(path: path, tenant: "acme", expires: expires, signature: sig, now: now))
        #expect(signer.verify(path: path, tenant: "acme", expires: expires, signature: sig, now: now + 3600))
        #expect(!signer.verify(path: path, tenant: "acme", expires: expires, signature: sig, now: now + 3601))  // expired
        #expect(!signer.verify(path: path.replacingOccurrences(of: "image.webp", with: "video.mp4"), tenant: "acme", expires: expires, signature: sig, now: now))
        #expect(!signer.verify(path: path, tenant: "acme", expires: "1900000000", signature: sig, now: now))  // expiry moved
        #expect(!signer.verify(path: path, tenant: "acme", expires: expires, signature: String(sig.dropLast()) + "A", now: now))
        #expect(!signer.verify(path: path, tenant: "acme", expires: expires, signature: "", now: now))
        #expect(!signer.verify(path: path, tenant: "other", expires: expires, signature: sig, now: now))  // another tenant
        #expect(query.first { $0.name == "tenant" }?.value == "acme")
        // Replicas with the same keys (in any order) agree; other keys or a set secret do not.
        #expect(OutputLinkSigner(secret: nil, apiKeys: ["k2", "k1"]).verify(path: path, tenant: "acme", expires: expires, signature: sig, now: now))
        #expect(!OutputLinkSigner(secret: nil, apiKeys: ["k1"]).verify(path: path, tenant: "acme", expires: expires, signature: sig, now: now))
        #expect(!OutputLinkSigner(secret: "s", apiKeys: ["k1", "k2"]).verify(path: path, tenant: "acme", expires: expires, signature: sig, now: now))
    }

    @Test("a storyboard's cues point at the sheet's signed link, fragment kept; timings, header and other text are left alone")
    func cueTargets() {
        let sheet = "/jobs/0b5c4e2e-8d1c-4d9e-9a57-2f0b1c3d4e5f/outputs/storyboard.webp?tenant=acme&expires=1800003600&signature=abc"
        let vtt = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nstoryboard.webp#xywh=0,0,160,90\n\n00:00:02.000 --> 00:00:04.000\r\nstoryboard.webp#xywh=160,0,160,90\r\n\nNOTE storyboard.webp\nother.webp#xywh=0,0,1,1\n"
        #expect(JobsController.references(in: vtt, kind: .cues) == ["storyboard.webp", "other.webp"])
        let resolved = JobsController.resolving(vtt, kind: .cues, links: ["storyboard.webp": sheet, "video.mp4": "/v"])
        #expect(
            resolved
                == "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n\(sheet)#xywh=0,0,160,90\n\n00:00:02.000 --> 00:00:04.000\r\n\(sheet)#xywh=160,0,160,90\r\n\nNOTE storyboard.webp\nother.webp#xywh=0,0,1,1\n"
        )
        #expect(JobsController.resolving(vtt, kind: .cues, links: [:]) == vtt)
    }

    @Test("an HLS playlist's URI lines and URI attributes point at their files' links; tags, comments and absolute URLs stay")
    func playlistReferences() {
        let master = """
            #EXTM3U
            #EXT-X-INDEPENDENT-SEGMENTS
            #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="audio",DEFAULT=YES,URI="audio/index.m3u8"
            #EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",AUDIO="aac"
            720p/index.m3u8\r
            #EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,AUDIO="aac"
            360p/index.m3u8
            https://cdn.example/other.m3u8

            """
        #expect(JobsController.references(in: master, kind: .playlist) == ["audio/index.m3u8", "720p/index.m3u8", "360p/index.m3u8", "https://cdn.example/other.m3u8"])
        let resolved = JobsController.resolving(master, kind: .playlist, links: ["audio/index.m3u8": "/a?s=1", "720p/index.m3u8": "/h?s=2", "360p/index.m3u8": "/l?s=3"])
        #expect(resolved == master.replacingOccurrences(of: "URI=\"audio/index.m3u8\"", with: "URI=\"/a?s=1\"")
            .replacingOccurrences(of: "720p/index.m3u8", with: "/h?s=2").replacingOccurrences(of: "360p/index.m3u8", with: "/l?s=3"))
        let media = "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:4.000000,\nseg_00000.m4s\n#EXT-X-ENDLIST\n"
        #expect(JobsController.references(in: media, kind: .playlist) == ["init.mp4", "seg_00000.m4s"])
    }

    @Test("a reference names a file beside its playlist, never outside the job's outputs")
    func referenceNames() {
        #expect(JobsController.outputName(of: "720p/index.m3u8", from: "hls/master.m3u8") == "hls/720p/index.m3u8")
        #expect(JobsController.outputName(of: "seg_00001.m4s", from: "hls/720p/index.m3u8") == "hls/720p/seg_00001.m4s")
        #expect(JobsController.outputName(of: "storyboard.webp", from: "storyboard.vtt") == "storyboard.webp")
        for bad in ["../x.m4s", "/abs.m4s", "https://h/x.m4s", "a/../../b", "x.m4s?q=1", "a//b", "./a", "a b"] {
            #expect(JobsController.outputName(of: bad, from: "hls/master.m3u8") == nil, "\(bad)")
        }
        var job = JobStatus(
            queued: MediaJob(jobId: "j", input: BlobReference(container: "rawfiles", blob: "x.mp4", bytes: 1, mediaType: "video/mp4", md5: "")))
        job.outputs = [
            .init(name: "video.mp4", contentType: "video/mp4", bytes: 1, container: "processed", blob: "j/video.mp4"),
            .init(name: "hls/master.m3u8", contentType: "application/vnd.apple.mpegurl", bytes: 1, container: "processed", blob: "j/hls/master.m3u8"),
        ]
        #expect(JobsController.servedFile(named: "hls/720p/seg_00001.m4s", of: job)
            == .init(name: "hls/720p/seg_00001.m4s", contentType: "video/iso.segment", container: "processed", blob: "j/hls/720p/seg_00001.m4s"))
        #expect(JobsController.servedFile(named: "video.mp4", of: job)?.blob == "j/video.mp4")
        #expect(JobsController.servedFile(named: "other/seg.m4s", of: job) == nil)  // not beside a playlist
        #expect(JobsController.servedFile(named: "hls/../video.mp4", of: job) == nil)
        #expect(JobsController.servedFile(named: "hls/secret.json", of: job) == nil)  // not a type the ladder writes
    }
}
