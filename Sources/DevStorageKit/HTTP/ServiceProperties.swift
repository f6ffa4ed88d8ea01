import HTTPTypes
import Hummingbird
import StorageKit

/// Get Service Properties (`GET /{account}/?restype=service&comp=properties`), which SDKs and tools
/// probe, and Get Account Information (`?restype=account&comp=properties`). devstorage has no
/// analytics logging, metrics, CORS rules, soft delete or static website: everything is off.
enum ServiceProperties {
    /// The `StorageServiceProperties` document in the element order of the REST reference.
    static func response(for service: StorageService) -> Response {
        var xml = XMLWriter()
        xml.open("StorageServiceProperties")
        xml.open("Logging")
        xml.element("Version", "1.0")
        for name in ["Delete", "Read", "Write"] { xml.element(name, "false") }
        disabledRetention(&xml)
        xml.close("Logging")
        for metrics in ["HourMetrics", "MinuteMetrics"] {
            xml.open(metrics)
            xml.element("Version", "1.0")
            xml.element("Enabled", "false")
            disabledRetention(&xml)
            xml.close(metrics)
        }
        xml.empty("Cors")
        if service == .blob {
            xml.element("DefaultServiceVersion", StorageDefaults.serviceVersion)
            xml.open("DeleteRetentionPolicy")
            xml.element("Enabled", "false")
            xml.close("DeleteRetentionPolicy")
            xml.open("StaticWebsite")
            xml.element("Enabled", "false")
            xml.close("StaticWebsite")
        }
        xml.close("StorageServiceProperties")
        let (headers, body) = ResponseBodies.xml(xml)
        return Response(status: .ok, headers: headers, body: body)
    }

    /// Get Account Information: a general-purpose v2 account with LRS and a flat namespace.
    static func accountInformation() -> Response {
        Response(status: .ok, headers: [
            HTTPField.Name("x-ms-sku-name")!: "Standard_LRS", HTTPField.Name("x-ms-account-kind")!: "StorageV2",
            HTTPField.Name("x-ms-is-hns-enabled")!: "false",
        ])
    }

    private static func disabledRetention(_ xml: inout XMLWriter) {
        xml.open("RetentionPolicy")
        xml.element("Enabled", "false")
        xml.close("RetentionPolicy")
    }
}
