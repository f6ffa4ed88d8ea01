import MediaFuzzing

/// libFuzzer target: the PNG decoder through the image pipeline (see ImageTarget).
@main struct FuzzPNG {
    static func main() { Harness.main(ImageTarget.png) }
}
