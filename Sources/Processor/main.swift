import ArgumentParser
import Dispatch
import Foundation

// Single-threaded still: the fork server that isolates codec work is forked here, before Swift's
// concurrency runtime (or anything else) starts a thread (ForkServer.swift).
ForkServer.launch(arguments: CommandLine.arguments)

Task {
    await Processor.main()
    exit(0)
}
dispatchMain()
