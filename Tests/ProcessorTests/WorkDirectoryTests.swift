import Foundation
import Testing

@testable import Processor

/// Work directories are named by a per-process random owner id and swept by lock (issue 13 item 8):
/// a PID names nothing in a container, where every worker is PID 1.
@Suite("Work directories")
struct WorkDirectoryTests {
    @Test("the name carries a random owner id and the creation time, not the PID")
    func naming() throws {
        try withParent { parent in
            let work = WorkDirectory(parent: parent, jobId: "job-1", now: Date(timeIntervalSince1970: 1_800_000_000.5))
            let name = (work.root as NSString).lastPathComponent
            #expect(name == "mediapipeline-\(WorkDirectory.owner)-1800000000500-job-1")
            #expect(WorkDirectory.owner.count == 16 && WorkDirectory.owner.allSatisfy(\.isHexDigit))
            #expect(!name.hasPrefix("mediapipeline-\(getpid())-"))
        }
    }

    @Test("a live worker's directory stays, however old; it goes once its lock is released")
    func lockedDirectoriesStay() throws {
        try withParent { parent in
            // Another worker's directory, locked by an open descriptor as its owner holds it.
            let other = (parent as NSString).appendingPathComponent("mediapipeline-0123456789abcdef-1700000000000-job-2")
            try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: false)
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -86_400 * 30)], ofItemAtPath: other)
            let fd = open(other, O_RDONLY | O_DIRECTORY)
            #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
            #expect(WorkDirectory.sweep(parent: parent, olderThan: .zero) == 0)
            #expect(FileManager.default.fileExists(atPath: other))
            close(fd)  // the worker ended (the kernel releases a killed process's lock the same way)
            #expect(WorkDirectory.sweep(parent: parent, olderThan: .seconds(3600)) == 1)
            #expect(!FileManager.default.fileExists(atPath: other))
        }
    }

    @Test("this process's own directories are locked and never swept")
    func ownDirectories() throws {
        try withParent { parent in
            let work = WorkDirectory(parent: parent, jobId: "job-3")
            try work.create()
            FileManager.default.createFile(atPath: work.path("input"), contents: Data("x".utf8))
            #expect(WorkDirectory.sweep(parent: parent, olderThan: .zero) == 0)
            #expect(FileManager.default.fileExists(atPath: work.path("input")))
            // Locked: another open description cannot take the lock while the job runs.
            let fd = open(work.root, O_RDONLY | O_DIRECTORY)
            defer { close(fd) }
            #expect(flock(fd, LOCK_EX | LOCK_NB) != 0)
            work.remove()
            #expect(!FileManager.default.fileExists(atPath: work.root))
            #expect(try FileManager.default.contentsOfDirectory(atPath: parent).isEmpty)  // no staging or lock files left
        }
    }

    @Test("a directory named by a PID (ours, or PID 1) from an earlier run is swept once old enough")
    func pidNamedLeftovers() throws {
        try withParent { parent in
            // What a worker that was PID 1 (or had our PID) in an earlier container left.
            var old: [String] = []
            for pid in [Int32(1), getpid()] {
                let path = (parent as NSString).appendingPathComponent("mediapipeline-\(pid)-job-\(pid)")
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
                FileManager.default.createFile(atPath: (path as NSString).appendingPathComponent("input"), contents: Data("x".utf8))
                try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -7200)], ofItemAtPath: path)
                old.append(path)
            }
            let recent = (parent as NSString).appendingPathComponent("mediapipeline-1-job-recent")
            try FileManager.default.createDirectory(atPath: recent, withIntermediateDirectories: false)
            let unrelated = (parent as NSString).appendingPathComponent("something-else")
            try FileManager.default.createDirectory(atPath: unrelated, withIntermediateDirectories: false)
            #expect(WorkDirectory.sweep(parent: parent) == 2)
            for path in old { #expect(!FileManager.default.fileExists(atPath: path)) }
            #expect(FileManager.default.fileExists(atPath: recent))  // could be a live worker's: younger than the age
            #expect(FileManager.default.fileExists(atPath: unrelated))
        }
    }

    @Test("a staging directory whose creator died is swept by age")
    func stagingLeftovers() throws {
        try withParent { parent in
            let staging = (parent as NSString).appendingPathComponent(".mediapipeline-staging-fedcba9876543210-1700000000000-job-4")
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false)
            #expect(WorkDirectory.sweep(parent: parent, olderThan: .seconds(60)) == 0)
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -120)], ofItemAtPath: staging)
            #expect(WorkDirectory.sweep(parent: parent, olderThan: .seconds(60)) == 1)
        }
    }

    private func withParent(_ body: (String) throws -> Void) throws {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("workdir-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: parent) }
        try body(parent)
    }
}
