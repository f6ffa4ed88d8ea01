import DevStorageKit
import Foundation
import NIOHTTP1
import NIOPosix
import Testing
import TestSupport

@Suite("HTTP behaviour", .timeLimit(.minutes(2)))
struct HTTPBehaviourTests {
    @Test("Expect: 100-continue gets an interim 100 before the body is sent")
    func expectContinue() async throws {
        try await withDevStorage(configuration: .testing(loose: true)) { storage in
            try await StorageTestClient(storage, auth: .none).createContainer("media")
            let port = storage.blobPort
            let (interim, final) = try await NIOThreadPool.singleton.runIfActive {
                let socket = try RawSocket(port: port)
                socket.send("PUT /devstoreaccount1/media/x HTTP/1.1\r\nHost: 127.0.0.1\r\nx-ms-blob-type: BlockBlob\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
                let interim = socket.read(until: "\r\n\r\n")
                socket.send("hello")
                return (interim, socket.read(until: "Server:"))
            }
            #expect(interim.hasPrefix("HTTP/1.1 100 Continue"))
            #expect(final.contains("201 Created"))
        }
    }

    @Test("HEAD errors carry x-ms-error-code and no body")
    func headError() async throws {
        try await withDevStorage { storage in
            let response = try await StorageTestClient(storage).send(.HEAD, "/nothing/here")
            #expect(response.status == 404)
            #expect(response.errorCode == "ContainerNotFound")
            #expect(response.body.isEmpty)
        }
    }
}
