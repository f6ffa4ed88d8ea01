import MediaKit
import Testing

/// The lazily loaded libraries (CMediaLibraries): every function the pipelines call through a stub
/// is in the installed library, and `load` loads what it is asked for.
@Suite struct MediaLibraryTests {
    @Test func everyStubbedFunctionIsInItsLibrary() {
        #expect(MediaLibrary.verify() == nil)
    }

    @Test func loadLoadsAndNamesTheLibrary() throws {
        try MediaLibrary.load([.heif])
        #expect(MediaLibrary.heif.isLoaded)
        #expect(MediaLibrary.avcodec.soname.hasPrefix("libavcodec.so."))
    }
}
