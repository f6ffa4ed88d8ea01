import MediaFuzzing

/// libFuzzer target: the GIF decoder through the image pipeline (see ImageTarget).
@main struct FuzzGIF {
    static func main() { Harness.main(ImageTarget.gif) }
}
