import MediaFuzzing

/// libFuzzer target: the WebP decoder through the image pipeline (see ImageTarget).
@main struct FuzzWebP {
    static func main() { Harness.main(ImageTarget.webp) }
}
