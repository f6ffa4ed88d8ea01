import ArgumentParser
import CMediaShims
import Dispatch
import Foundation
import MediaKit
import MediaTypes

// Single-threaded still: the daemon's fork server that isolates codec work is forked before Swift's
// concurrency runtime (or anything else) starts a thread (ForkServer.swift). The one-shot command
// forks each file's child itself from this thread, once its arguments and profile are read
// (DirectChildren.swift), and never starts Swift concurrency when it isolates.
ForkServer.launch(arguments: CommandLine.arguments)

if CommandLine.arguments.dropFirst().first == "process" {
    do {
        var parsed = try Processor.parseAsRoot()
        guard let command = parsed as? Process else {  // `--help`
            try parsed.run()
            exit(0)
        }
        let profile = try command.loadProfile()
        if command.isolation == .process, mp_thread_count() == 1 {
            let failures = DirectChildren.run(inputs: command.inputs, out: command.out, jobs: command.jobs, profile: profile)
            exit(failures > 0 ? 1 : 0)
        }
        // (Isolated with another thread already running, which never happens: through a fork server
        // started by exec.)
        Task {
            do {
                try await command.run(profile: profile)
            } catch {
                Processor.exit(withError: error)
            }
            exit(0)
        }
    } catch {
        Processor.exit(withError: error)
    }
} else {
    Task {
        await Processor.main()
        exit(0)
    }
}
dispatchMain()
