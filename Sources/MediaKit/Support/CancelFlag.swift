import NIOPosix

/// A flag C code polls between scanlines and frames: set it to stop a decode or encode.
/// The C side reads a plain `volatile int` through a pointer, so the flag owns a stable allocation.
final class CancelFlag: @unchecked Sendable {
    // Safe to share: the only write is a single aligned 32-bit store of 1 (never back to 0), and
    // readers (C polls, `isCancelled`) at worst see it one poll late.
    private let storage: UnsafeMutablePointer<Int32>

    init() {
        storage = .allocate(capacity: 1)
        storage.initialize(to: 0)
    }

    deinit { storage.deallocate() }

    func cancel() { storage.pointee = 1 }

    var isCancelled: Bool { storage.pointee != 0 }

    func withPointer<R>(_ body: (UnsafePointer<Int32>) -> R) -> R { body(UnsafePointer(storage)) }

    /// Throws `cancelled` when set.
    func check() throws(MediaError) {
        if isCancelled { throw MediaError(.cancelled, "stopped") }
    }
}

extension CancelFlag {
    /// Runs blocking codec work on NIO's thread pool (never on the cooperative pool) with a fresh
    /// flag that cancelling the calling task sets, so the work stops at its next poll.
    static func runCancellable<Result: Sendable>(_ work: @escaping @Sendable (CancelFlag) throws -> Result) async throws -> Result {
        let flag = CancelFlag()
        return try await withTaskCancellationHandler {
            try await NIOThreadPool.singleton.runIfActive { try work(flag) }
        } onCancel: {
            flag.cancel()
        }
    }
}
