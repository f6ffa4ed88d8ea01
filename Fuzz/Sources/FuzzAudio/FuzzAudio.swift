import MediaFuzzing

/// libFuzzer target: the audio path on tiny limits (see AudioTarget).
@main struct FuzzAudio {
    static func main() { Harness.main(AudioTarget()) }
}
