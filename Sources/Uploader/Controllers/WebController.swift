import HTTPTypes
import Hummingbird
import NIOCore

/// The browser page (`/`, `/app.js`, `/app.css`) and the API description (`/openapi.yaml`),
/// embedded in the executable by SwiftPM (`.embedInCode`), so the binary needs nothing beside it.
struct WebController: Sendable {
    struct Asset: Sendable {
        let body: ByteBuffer
        let contentType: String
    }

    let assets: [String: Asset]

    static let files: [(path: String, bytes: [UInt8], contentType: String)] = [
        ("/", PackageResources.index_html, "text/html; charset=utf-8"),
        ("/app.js", PackageResources.app_js, "text/javascript; charset=utf-8"),
        ("/resumable.js", PackageResources.resumable_js, "text/javascript; charset=utf-8"),
        ("/thumbhash.js", PackageResources.thumbhash_js, "text/javascript; charset=utf-8"),
        ("/app.css", PackageResources.app_css, "text/css; charset=utf-8"),
        ("/openapi.yaml", PackageResources.openapi_yaml, "application/yaml; charset=utf-8"),
    ]

    init() {
        var assets: [String: Asset] = [:]
        for file in Self.files {
            assets[file.path] = Asset(body: ByteBuffer(bytes: file.bytes), contentType: file.contentType)
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
