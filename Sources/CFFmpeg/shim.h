#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/crc.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/mastering_display_metadata.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <errno.h>

// Function-like macros Swift cannot import.
static const int CFFMPEG_AVERROR_EOF = AVERROR_EOF;
static inline int cffmpeg_averror(int e) { return AVERROR(e); }
static const int64_t CFFMPEG_NOPTS_VALUE = AV_NOPTS_VALUE;
static const int CFFMPEG_EAGAIN = AVERROR(EAGAIN);
static const int CFFMPEG_AVERROR_INVALIDDATA = AVERROR_INVALIDDATA;

// The `io_open` callback every demuxer uses to open another file or URL (HLS segments, concat
// entries, MOV data references, …): always refused, so an uploaded file can never make the
// worker read a local file or connect anywhere.
static int cffmpeg_refuse_io_open(struct AVFormatContext *s, AVIOContext **pb, const char *url, int flags, AVDictionary **options) {
    (void)s; (void)pb; (void)url; (void)flags; (void)options;
    return AVERROR(EPERM);
}
static inline void cffmpeg_refuse_nested_opens(AVFormatContext *s) { s->io_open = cffmpeg_refuse_io_open; }
