import Foundation
import Synchronization

/// Makes Azure-shaped ETags (`"0x8DD3551D2F9A5C1"`): .NET ticks of the write time, bumped so that
/// every write in this process gets a new, increasing value even within one tick.
enum ETagGenerator {
    private static let last = Atomic<UInt64>(0)
    /// Seconds from 0001-01-01 to 1970-01-01.
    private static let epochOffset: Double = 62_135_596_800

    /// A new quoted ETag for a write at `date`.
    static func make(at date: Date) -> String {
        let ticks = UInt64(max(0, (date.timeIntervalSince1970 + epochOffset) * 10_000_000))
        var current = last.load(ordering: .relaxed)
        while true {
            let next = max(ticks, current &+ 1)
            let (exchanged, original) = last.compareExchange(expected: current, desired: next, ordering: .relaxed)
            if exchanged { return "\"0x" + String(next, radix: 16, uppercase: true) + "\"" }
            current = original
        }
    }
}
