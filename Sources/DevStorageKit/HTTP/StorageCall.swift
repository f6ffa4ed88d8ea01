import Foundation
import Hummingbird
import Logging
import NIOCore

/// Everything a controller needs about one authenticated request.
struct StorageCall: Sendable {
    var request: Request
    var target: RequestTarget
    var query: QueryParameters
    var operation: StorageOperation
    var grant: AccessGrant
    /// The emulator's current time (with the clock offset).
    var now: Date
    var logger: Logger
    /// The client's address (SAS `sip` checks of copy sources and batch sub-requests).
    var remoteAddress: SocketAddress? = nil

    var isHead: Bool { request.method == .head }

    /// The service endpoint as the client addressed it: `http://{Host}/{account}`.
    var serviceEndpoint: String {
        "http://\(request.head.authority ?? "127.0.0.1")/\(target.account)"
    }
}
