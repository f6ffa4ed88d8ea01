import ArgumentParser
import QueueKit
import StorageKit

/// `storagetool queue-put`: puts a message.
struct QueuePut: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "queue-put", abstract: "Put a message on a queue (created if missing).")
    @OptionGroup var account: AccountOptions
    @Option var queue: String
    @Option var text: String
    @Option(help: "Seconds until it expires; -1 = never.") var ttl: Int?

    func run() async throws {
        let queues = QueueClient(account: try account.account())
        try await queues.createQueue(queue)
        let sent = try await queues.send(queue, text: text, timeToLive: ttl)
        print("id=\(sent.id)")
    }
}

/// `storagetool queue-get`: receives one message, prints its text and deletes it.
struct QueueGet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "queue-get", abstract: "Receive one message, print its text, delete it.")
    @OptionGroup var account: AccountOptions
    @Option var queue: String
    @Flag(help: "Leave the message on the queue (it becomes visible again after 30 s).") var keep = false

    func run() async throws {
        let queues = QueueClient(account: try account.account())
        guard let message = try await queues.receive(queue).first else { throw ExitCode(2) }
        print(message.text)
        if !keep { try await queues.delete(queue, messageID: message.id, popReceipt: message.popReceipt) }
    }
}

/// `storagetool queue-count`: the approximate message count.
struct QueueCount: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "queue-count", abstract: "Print a queue's approximate message count.")
    @OptionGroup var account: AccountOptions
    @Option var queue: String

    func run() async throws {
        print(try await QueueClient(account: try account.account()).approximateMessageCount(queue))
    }
}

/// `storagetool queues`: List Queues.
struct Queues: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List queues (List Queues), with their metadata.")
    @OptionGroup var account: AccountOptions
    @Option var prefix: String?

    func run() async throws {
        for queue in try await QueueClient(account: account.account()).listQueues(prefix: prefix, includeMetadata: true) {
            print(([queue.name] + queue.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: "\t"))
        }
    }
}
