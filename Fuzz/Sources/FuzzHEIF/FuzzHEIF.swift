import MediaFuzzing

/// libFuzzer target: the HEIF decoder through the image pipeline (see ImageTarget).
@main struct FuzzHEIF {
    static func main() { Harness.main(ImageTarget.heif) }
}
