import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat

/// The browser page (`/`, `/app.js`, `/app.css`) and the API description (`/openapi.yaml`),
/// loaded once from the module's resources.
struct WebController: Sendable {
    struct Asset: Sendable {
        let body: ByteBuffer
        let contentType: String
    }

    let assets: [String: Asset]

    static let files: [(path: String, resource: String, ext: String, contentType: String)] = [
        ("/", "index", "html", "text/html; charset=utf-8"),
        ("/app.js", "app", "js", "text/javascript; charset=utf-8"),
        ("/app.css", "app", "css", "text/css; charset=utf-8"),
        ("/openapi.yaml", "openapi", "yaml", "application/yaml; charset=utf-8"),
    ]

    init() throws {
        var assets: [String: Asset] = [:]
        for file in Self.files {
            guard let url = Bundle.module.url(forResource: file.resource, withExtension: file.ext, subdirectory: "Web") else {
                throw UploaderConfiguration.Invalid(description: "missing resource Web/\(file.resource).\(file.ext)")
            }
            assets[file.path] = Asset(body: ByteBuffer(data: try Data(contentsOf: url)), contentType: file.contentType)
        }
        self.assets = assets
    }

    func addRoutes(to router: Router<UploaderRequestContext>) {
        for (path, asset) in assets {
            router.get(RouterPath(path)) { _, _ in
                Response(
                    status: .ok,
                    headers: [
                        .contentType: asset.contentType,
                        .cacheControl: "no-cache",
                        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
                        .contentSecurityPolicy: "default-src 'self'; img-src 'self' blob: data: http: https:; media-src 'self' blob: http: https:; connect-src 'self'; frame-ancestors 'none'",
                    ],
                    body: .init(byteBuffer: asset.body))
            }
        }
    }
}
