import NIOCore
import NIOPosix
import Synchronization

/// A dedicated thread that the stores use as their actor executor. Their state changes do small,
/// blocking file writes (JSON sidecars, fsync, rename) synchronously, so each change is atomic with
/// respect to other requests; running them here keeps that blocking off NIO's event loops and off
/// Swift's cooperative pool. Big reads and writes never run here (they use `NIOThreadPool`).
final class StoreThread: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let isShutDown = Atomic<Bool>(false)
    /// The event loop whose serial executor the stores run on.
    let loop: any EventLoop

    init() {
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.loop = group.next()
    }

    /// Stops the thread once no store work is left (call after the servers stopped).
    func shutdown() async {
        guard !isShutDown.exchange(true, ordering: .relaxed) else { return }
        try? await group.shutdownGracefully()
    }

    deinit {
        // Only reached when `run()` never ran (it shuts the thread down itself). Shutting a group
        // down from its own thread is not allowed; in that unlikely case the idle thread is left.
        if !isShutDown.exchange(true, ordering: .relaxed), !loop.inEventLoop {
            group.shutdownGracefully { _ in }
        }
    }
}
