import MediaFuzzing

/// libFuzzer target: the video path on tiny limits (see VideoTarget).
@main struct FuzzVideo {
    static func main() { Harness.main(VideoTarget()) }
}
