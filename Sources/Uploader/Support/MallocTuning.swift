#if canImport(Glibc)
import Glibc
#endif

/// glibc malloc settings for a process whose big allocations are upload blocks.
///
/// Each staged upload holds up to `block.concurrency + 1` blocks (4 MiB by default). With glibc's
/// defaults the first freed block raises the mmap threshold past the block size, so every later
/// block comes from one of the per-thread arenas, and each arena keeps the blocks freed into it:
/// measured on a 1 GiB `curl -F` (release uploader, devstorage on loopback), RSS stayed at 84 MiB
/// after the upload (41 MiB before it) and peaked at 87–91 MiB.
///
/// - `M_MMAP_THRESHOLD` 1 MiB, fixed: blocks are mapped and unmapped on their own, so their memory
///   goes back to the system when an upload ends, whichever thread freed them.
/// - `M_TRIM_THRESHOLD` 8 MiB (what glibc's dynamic adjustment would have reached): fixing the mmap
///   threshold also fixes the trim threshold at 128 KiB, and then the arenas give back and fault in
///   again the 256 KiB socket read buffers on every read (100k page faults per GiB instead of 20k).
///
/// Called once, first thing in `main`; a no-op where the C library is not glibc. `mallopt` is looked
/// up with `dlsym` because the Glibc module does not import `<malloc.h>` (and only MediaKit imports C);
/// its parameter numbers are glibc's ABI (`M_TRIM_THRESHOLD` -1, `M_MMAP_THRESHOLD` -3).
enum MallocTuning {
    static let mmapThreshold: Int32 = 1 << 20
    static let trimThreshold: Int32 = 8 << 20

    /// Applies both settings; false if this C library has no `mallopt` or refused one.
    @discardableResult
    static func apply() -> Bool {
        #if canImport(Glibc)
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(nil, "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let trim: Int32 = -1  // M_TRIM_THRESHOLD
        let mmap: Int32 = -3  // M_MMAP_THRESHOLD
        return mallopt(mmap, mmapThreshold) == 1 && mallopt(trim, trimThreshold) == 1
        #else
        return false
        #endif
    }
}
