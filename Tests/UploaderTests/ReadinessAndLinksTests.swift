import Foundation
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
        let resolved = JobsController.resolvingCueTargets(vtt, links: ["storyboard.webp": sheet, "video.mp4": "/v"])
        #expect(
            resolved
                == "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n\(sheet)#xywh=0,0,160,90\n\n00:00:02.000 --> 00:00:04.000\r\n\(sheet)#xywh=160,0,160,90\r\n\nNOTE storyboard.webp\nother.webp#xywh=0,0,1,1\n"
        )
        #expect(JobsController.resolvingCueTargets(vtt, links: [:]) == vtt)
    }
}
