import ArgumentParser
import Dispatch
import Foundation
import MediaKit
import MediaTypes

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
        var first: Result<OneShot.Prepared, MediaError>?
        if command.isolation == .process, let input = command.inputs.first {
            // The first file's request goes with the zygote: its child starts while this process
            // starts its runtime, instead of after.
            first = OneShot.prepare(input: input, out: command.out)
            let prepared = try? first?.get()
            ForkServer.zygote(profile: profile, warm: false, first: prepared.map { ($0.path, $0.type.mime, $0.directory) })
        }
        Task {
            do {
                try await command.run(profile: profile, first: first)
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
