import MediaFuzzing

/// libFuzzer target: the JPEG decoder through the image pipeline (see ImageTarget).
@main struct FuzzJPEG {
    static func main() { Harness.main(ImageTarget.jpeg) }
}
