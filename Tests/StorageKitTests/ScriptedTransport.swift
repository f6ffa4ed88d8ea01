import AsyncHTTPClient
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import StorageKit

/// An in-memory `StorageTransport` that answers from a script and records every request it saw.
final class ScriptedTransport: StorageTransport {
    /// One scripted answer: a response, or a transport error.
    enum Answer: Sendable {
        case response(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: String = "")
        case failure(any Error)
    }

    struct Seen: Sendable {
        var method: HTTPMethod
        var url: String
        var headers: HTTPHeaders
        var body: ByteBuffer?
        /// The per-attempt timeout the execute core gave this attempt.
        var timeout: TimeAmount
    }

    private let state: NIOLockedValueBox<(answers: [Answer], seen: [Seen])>
    private let fallback: Answer

    init(_ answers: [Answer], then fallback: Answer = .response(status: .ok)) {
        self.state = NIOLockedValueBox((answers, []))
        self.fallback = fallback
    }

    var seen: [Seen] { state.withLockedValue { $0.seen } }

    func execute(_ request: HTTPClientRequest, timeout: TimeAmount, logger: Logger) async throws -> HTTPClientResponse {
        var body: ByteBuffer?
        if let requestBody = request.body {
            var collected = ByteBuffer()
            for try await var chunk in requestBody { collected.writeBuffer(&chunk) }
            body = collected
        }
        let answer = state.withLockedValue { state -> Answer in
            state.seen.append(Seen(method: request.method, url: request.url, headers: request.headers, body: body, timeout: timeout))
            return state.answers.isEmpty ? fallback : state.answers.removeFirst()
        }
        switch answer {
        case .response(let status, let headers, let text):
            return HTTPClientResponse(status: status, headers: headers, body: .bytes(ByteBuffer(string: text)))
        case .failure(let error):
            throw error
        }
    }
}

