import ArgumentParser
import Dispatch
import Foundation

// Single-threaded still: the fork server that isolates codec work is forked before Swift's
// concurrency runtime (or anything else) starts a thread (ForkServer.swift) — at launch for the
// daemon; for the one-shot command once its arguments and profile are read, so that its children
// start with the profile decoded.
ForkServer.launch(arguments: CommandLine.arguments)

if CommandLine.arguments.dropFirst().first == "process" {
    do {
        var parsed = try Processor.parseAsRoot()
        guard let command = parsed as? Process else {  // `--help`
            try parsed.run()
            exit(0)
        }
        let profile = try command.loadProfile()
        if command.isolation == .process { ForkServer.zygote(profile: profile, warm: false) }
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
