import MediaFuzzing

/// The sanitized media check over the real and hostile fixtures (see MediaFuzzing's SanitizedCheck).
@main struct MediaCheckMain {
    static func main() { SanitizedCheck.main() }
}
