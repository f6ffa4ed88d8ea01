/// Which string-to-sign layout a shared access signature's signed version (`sv`) selects.
///
/// From "Create a service SAS" → "Version 2020-12-06 and later / 2018-11-09 … / 2015-04-05 … /
/// 2013-08-15 … / 2012-02-12" (learn.microsoft.com/rest/api/storageservices/create-service-sas) and
/// "Create an account SAS" (…/create-account-sas):
/// - 2012-02-12: `sp st se resource si sv`;
/// - 2013-08-15: adds the response-header overrides `rscc rscd rsce rscl rsct` (blob);
/// - 2015-02-21: the canonicalized resource gains the service prefix (`/blob/…`, `/queue/…`);
/// - 2015-04-05: adds `sip spr` after `si`; account SAS introduced;
/// - 2018-11-09: adds `sr` and the snapshot time after `sv` (blob);
/// - 2020-12-06: adds the encryption scope `ses` (blob service SAS before the overrides; account SAS last).
/// Signed versions before 2012-02-12 (blob-only SAS without `sv`) are not accepted by devstorage.
public enum SASLayout: Int, Comparable, Sendable {
    case v2012_02_12, v2013_08_15, v2015_02_21, v2015_04_05, v2018_11_09, v2020_12_06

    /// The oldest signed version with a layout here.
    public static let oldestVersion = "2012-02-12"

    /// The layout for `sv` (a `YYYY-MM-DD` date; versions compare as strings). Below 2012-02-12 it is
    /// `.v2012_02_12`; `isSupported(signedVersion:)` tells whether to accept it at all.
    public init(signedVersion: String) {
        switch signedVersion {
        case "2020-12-06"...: self = .v2020_12_06
        case "2018-11-09"...: self = .v2018_11_09
        case "2015-04-05"...: self = .v2015_04_05
        case "2015-02-21"...: self = .v2015_02_21
        case "2013-08-15"...: self = .v2013_08_15
        default: self = .v2012_02_12
        }
    }

    /// A well-formed `YYYY-MM-DD` version no older than 2012-02-12 (the service SAS docs' oldest layout).
    public static func isSupported(signedVersion: String) -> Bool {
        let bytes = Array(signedVersion.utf8)
        guard bytes.count == 10, bytes[4] == 0x2D, bytes[7] == 0x2D,
            bytes.enumerated().allSatisfy({ $0.offset == 4 || $0.offset == 7 || (0x30...0x39).contains($0.element) })
        else { return false }
        return signedVersion >= oldestVersion
    }

    /// Whether the canonicalized resource starts with the service name (`/blob`, `/queue`).
    public var hasServicePrefix: Bool { self >= .v2015_02_21 }

    public static func < (lhs: SASLayout, rhs: SASLayout) -> Bool { lhs.rawValue < rhs.rawValue }
}
