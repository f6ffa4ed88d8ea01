import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// RFC 1123 dates (`Wed, 15 Jan 2025 10:00:00 GMT`) as Azure uses them in `x-ms-date`,
/// `Last-Modified` and queue XML, and ISO 8601 seconds-precision times as SAS uses them.
public enum HTTPDate {
    static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Formats a date as RFC 1123 in GMT.
    public static func format(_ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&time, &parts)
        return "\(days[Int(parts.tm_wday)]), \(pad(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec)) GMT"
    }

    /// Parses an RFC 1123 date; `nil` when it is not one.
    public static func parse(_ string: String) -> Date? {
        // "Wed, 15 Jan 2025 10:00:00 GMT"
        let fields = string.split(separator: " ")
        guard fields.count == 6, fields[5] == "GMT", let day = Int32(fields[1]),
            let month = months.firstIndex(of: String(fields[2])), let year = Int32(fields[3])
        else { return nil }
        let clock = fields[4].split(separator: ":")
        guard clock.count == 3, let hour = Int32(clock[0]), let minute = Int32(clock[1]), let second = Int32(clock[2])
        else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = Int32(month)
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }

    /// Formats a date as ISO 8601 UTC with seconds precision (`2025-01-15T11:00:00Z`).
    public static func iso8601(_ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&time, &parts)
        return "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T"
            + "\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec))Z"
    }

    /// Parses the ISO 8601 forms a SAS may carry: `YYYY-MM-DD`, `YYYY-MM-DDThh:mmZ`,
    /// `YYYY-MM-DDThh:mm:ssZ` and fractional seconds.
    public static func parseISO8601(_ string: String) -> Date? {
        var text = Substring(string)
        guard text.count >= 10 else { return nil }
        let datePart = text.prefix(10).split(separator: "-")
        guard datePart.count == 3, let year = Int32(datePart[0]), let month = Int32(datePart[1]),
            let day = Int32(datePart[2])
        else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        text = text.dropFirst(10)
        var fraction = 0.0
        if !text.isEmpty {
            guard text.first == "T", text.last == "Z" else { return nil }
            let clock = text.dropFirst().dropLast().split(separator: ":")
            guard clock.count == 2 || clock.count == 3, let hour = Int32(clock[0]), let minute = Int32(clock[1])
            else { return nil }
            parts.tm_hour = hour
            parts.tm_min = minute
            if clock.count == 3 {
                guard let seconds = Double(clock[2]) else { return nil }
                parts.tm_sec = Int32(seconds.rounded(.down))
                fraction = seconds - seconds.rounded(.down)
            }
        }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)) + fraction)
    }

    private static func pad(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
