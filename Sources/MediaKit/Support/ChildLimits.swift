internal import CMediaShims
import Foundation
import Glibc

/// Kernel limits (setrlimit) of the child process that decodes one untrusted file, set by the child
/// on itself before it reads a byte of the file. A decoder that runs away is stopped by the kernel,
/// and only that job fails. 0 turns a limit off (the sanitizer build needs an unlimited address
/// space: ASan reserves terabytes of shadow memory).
public struct ChildLimits: Codable, Sendable, Equatable {
    /// Virtual memory (RLIMIT_AS), which counts reservations (thread stacks, malloc arenas) as well
    /// as memory in use. Measured on 2 cores (VmPeak, `MALLOC_ARENA_MAX=2` as the child runs):
    /// 421 MiB for a tiny image while libav*/libheif/libavif were mapped in every process (now only
    /// once a job needs them, MediaLibrary: a tiny image runs under a 256 MiB limit, debug build),
    /// 1035 MiB for a 1080p H.264 transcode (x264's threads). Default
    /// 4 GiB: room for 4K and 50 MP inputs, a stop for a decoder that runs away. Resident memory
    /// beyond the pod's limit is the kernel OOM killer's: the child's `oom_score_adj` is 1000, so
    /// it is chosen before the daemon.
    public var maxAddressSpaceBytes: Int
    /// CPU seconds (RLIMIT_CPU), summed over the child's threads. Default: two cores for the
    /// video job time limit (`video.maxJobSeconds`, 3600 s), so 7200.
    public var maxCPUSeconds: Int
    /// Size of any file the child writes (RLIMIT_FSIZE). Default 4 GiB.
    public var maxOutputFileBytes: Int

    public init(maxAddressSpaceBytes: Int = 4 << 30, maxCPUSeconds: Int = 7200, maxOutputFileBytes: Int = 4 << 30) {
        self.maxAddressSpaceBytes = maxAddressSpaceBytes
        self.maxCPUSeconds = maxCPUSeconds
        self.maxOutputFileBytes = maxOutputFileBytes
    }

    enum CodingKeys: String, CodingKey { case maxAddressSpaceBytes, maxCPUSeconds, maxOutputFileBytes }

    public init(from decoder: any Decoder) throws {
        let d = ChildLimits()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxAddressSpaceBytes = try c.decodeIfPresent(Int.self, forKey: .maxAddressSpaceBytes) ?? d.maxAddressSpaceBytes
        maxCPUSeconds = try c.decodeIfPresent(Int.self, forKey: .maxCPUSeconds) ?? d.maxCPUSeconds
        maxOutputFileBytes = try c.decodeIfPresent(Int.self, forKey: .maxOutputFileBytes) ?? d.maxOutputFileBytes
    }
}

extension ChildLimits {
    /// Sets these limits on the calling process (setrlimit), no core dumps, and `no_new_privs`.
    /// Called by the child before it opens the untrusted file.
    public func applyToThisProcess() throws(MediaError) {
        // The kernel's signals for these limits end the process (their default action) whatever the
        // parent ignored: the parent reads the signal and names the limit.
        signal(SIGXFSZ, SIG_DFL)
        signal(SIGXCPU, SIG_DFL)
        try Self.set(RLIMIT_CORE, 0, "core dumps")  // a crash leaves no multi-GiB core on the pod's disk
        if maxAddressSpaceBytes > 0 { try Self.set(RLIMIT_AS, maxAddressSpaceBytes, "address space") }
        if maxOutputFileBytes > 0 { try Self.set(RLIMIT_FSIZE, maxOutputFileBytes, "file size") }
        if maxCPUSeconds > 0 {
            // SIGXCPU at the soft limit; the kernel's SIGKILL 5 s later if that is ignored.
            try Self.set(RLIMIT_CPU, maxCPUSeconds, "CPU time", hard: maxCPUSeconds + 5)
        }
        guard mp_set_no_new_privs() == 0 else { throw Self.failure("no_new_privs") }
        // Under memory pressure in the pod, the kernel kills this process, not the daemon that runs
        // the other jobs (raising one's own score needs no privilege).
        _ = try? "1000".write(toFile: "/proc/self/oom_score_adj", atomically: false, encoding: .utf8)
    }

    private static func set(_ which: __rlimit_resource, _ value: Int, _ name: String, hard: Int? = nil) throws(MediaError) {
        var limit = rlimit(rlim_cur: rlim_t(value), rlim_max: rlim_t(hard ?? value))
        guard setrlimit(__rlimit_resource_t(which.rawValue), &limit) == 0 else { throw failure(name) }
    }

    private static func failure(_ name: String) -> MediaError {
        MediaError(.internal, "cannot set the child's \(name) limit: \(String(cString: strerror(errno)))")
    }
}
