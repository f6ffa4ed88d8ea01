import Hummingbird
import Logging

/// One access-log line per request (method, path, status, milliseconds), carrying the request id
/// Hummingbird puts in the logger; probes and scrapes log at debug.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = UploaderRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let quiet = ["/healthz", "/readyz", "/metrics"].contains(request.uri.path)
        func log(_ status: Int) {
            let elapsed = ContinuousClock.now - started
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            context.logger.log(
                level: quiet ? .debug : .info, "request",
                metadata: [
                    "http.method": "\(request.method.rawValue)", "http.path": "\(request.uri.path)", "http.status": "\(status)",
                    "duration.ms": "\(Int(ms))",
                ])
        }
        do {
            let response = try await next(request, context)
            log(response.status.code)
            return response
        } catch let error as any HTTPResponseError {
            log(error.status.code)
            throw error
        } catch {
            log(500)
            throw error
        }
    }
}
