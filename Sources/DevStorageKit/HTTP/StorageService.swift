/// Which of the two services a listener serves.
enum StorageService: String, Sendable {
    case blob
    case queue
}
