#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>

// Function-like macros Swift cannot import.
static const int CFFMPEG_AVERROR_EOF = AVERROR_EOF;
static inline int cffmpeg_averror(int e) { return AVERROR(e); }
static const int64_t CFFMPEG_NOPTS_VALUE = AV_NOPTS_VALUE;
