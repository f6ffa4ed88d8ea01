import MediaFuzzing

/// libFuzzer target: type sniffing and the decoders' header checks (see SniffTarget).
@main struct FuzzSniff {
    static func main() { Harness.main(SniffTarget()) }
}
