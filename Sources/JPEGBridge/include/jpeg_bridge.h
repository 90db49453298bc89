#ifndef JPEG_BRIDGE_H
#define JPEG_BRIDGE_H
/*
 * A small C layer over libjpeg(-turbo). libjpeg reports fatal errors through error_exit, which must
 * not return; every function here catches that with setjmp/longjmp internally, so a caller (Swift)
 * only ever sees a status code plus a message in a jb_diagnostics it owns. Nothing here keeps state
 * between calls; all functions are safe to call from several threads at once.
 */
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The libjpeg version the bridge was compiled against (JPEG_LIB_VERSION, e.g. 62).
int jpeg_bridge_lib_version(void);

/// Return codes of the jb_* functions.
typedef enum {
    JB_OK = 0,
    /// libjpeg raised a fatal error; diagnostics.error holds its message.
    JB_ERR_LIBJPEG = 1,
    /// An argument was invalid (NULL pointer, zero size, quality out of range...); see diagnostics.error.
    JB_ERR_ARGUMENT = 2,
    /// malloc failed or the image is too large to allocate.
    JB_ERR_NO_MEMORY = 3,
    /// The file is a valid JPEG but uses a component layout the bridge cannot turn into RGB.
    JB_ERR_UNSUPPORTED = 4,
} jb_status;

/// The colour space of the coded data, as libjpeg guessed it from the markers.
typedef enum {
    JB_CS_UNKNOWN = 0,
    JB_CS_GRAYSCALE = 1,
    JB_CS_RGB = 2,
    JB_CS_YCBCR = 3,
    JB_CS_CMYK = 4,
    JB_CS_YCCK = 5,
} jb_color_space;

/// Chroma subsampling for encoding.
typedef enum {
    JB_SUBSAMPLING_420 = 0,
    JB_SUBSAMPLING_422 = 1,
    JB_SUBSAMPLING_444 = 2,
} jb_subsampling;

#define JB_MESSAGE_CAPACITY 200 /* == JMSG_LENGTH_MAX */
#define JB_MAX_WARNING_MESSAGES 4

/// What went wrong (or was suspicious) during one call. Zero it (or let the call do so) before use;
/// every jb_* function that takes one resets it first.
typedef struct {
    /// The formatted message of the fatal error (empty when none).
    char error[JB_MESSAGE_CAPACITY];
    /// libjpeg's code of the fatal error (J_MESSAGE_CODE), 0 when none.
    int error_code;
    /// How many warnings libjpeg emitted (emit_message with level -1), e.g. corrupt data or truncation.
    int warning_count;
    /// The first JB_MAX_WARNING_MESSAGES distinct warning messages.
    char warnings[JB_MAX_WARNING_MESSAGES][JB_MESSAGE_CAPACITY];
    int stored_warnings;
    /// 1 when libjpeg hit the end of the data before the image was complete ("Premature end of JPEG
    /// file"): the data is truncated. Set whether that ended in a warning or in a fatal error.
    int premature_end;
} jb_diagnostics;

/// Facts from the JPEG header (everything up to the first scan).
typedef struct {
    int width;
    int height;
    /// Number of colour components in the file (1, 3 or 4 for the supported kinds).
    int components;
    /// jb_color_space of the coded data.
    int color_space;
    /// 1 when an Adobe APP14 marker is present.
    int adobe_marker;
    /// The Adobe marker's transform code (0 none, 1 YCbCr, 2 YCCK); -1 without the marker.
    int adobe_transform;
    /// 1 for CMYK/YCCK data written with the Adobe (Photoshop) convention: channels stored inverted.
    int inverted_cmyk;
    /// 1 for a progressive JPEG.
    int progressive;
    /// 1 when a JFIF APP0 marker is present.
    int jfif_marker;
} jb_header;

/// Read the header of the JPEG in data[0..<size]. On JB_OK, *header is filled in; warnings seen so
/// far are counted in *diag.
int jb_read_header(const unsigned char *data, size_t size, jb_header *header, jb_diagnostics *diag);

/// Decode the JPEG in data[0..<size] to 8-bit interleaved RGB (width * height * 3 bytes, no row
/// padding), allocated with malloc: free it with jb_free. Grayscale is replicated, YCbCr/RGB is
/// converted by libjpeg, CMYK/YCCK is converted as Pillow does (Adobe-marker data treated as
/// inverted). DCT method: JDCT_ISLOW. On JB_OK, *pixels owns the buffer and *header describes the
/// source; on any other status *pixels is NULL. Warnings (corrupt or truncated data) do not make the
/// call fail: the caller inspects diag->warning_count.
int jb_decode_rgb(const unsigned char *data, size_t size, unsigned char **pixels, jb_header *header,
                  jb_diagnostics *diag);

/// Encode width*height interleaved 8-bit RGB pixels (no row padding) as a baseline JFIF JPEG with
/// the given quality (1...100) and chroma subsampling, JDCT_ISLOW and optimized Huffman tables. No
/// comments or timestamps are written, so the same input gives the same bytes. On JB_OK, *jpeg is a
/// malloc'd buffer of *jpeg_size bytes (free with jb_free); otherwise *jpeg is NULL.
int jb_encode_rgb(const unsigned char *rgb, int width, int height, int quality, int subsampling,
                  unsigned char **jpeg, size_t *jpeg_size, jb_diagnostics *diag);

/// Encode width*height interleaved 8-bit CMYK pixels as a 4-component JPEG (no subsampling), stored
/// exactly as given. With ycck != 0 libjpeg converts to YCCK and writes an Adobe marker with
/// transform 2; otherwise it writes plain CMYK with an Adobe marker, transform 0. (libjpeg always
/// writes the Adobe marker for 4-component output, so readers take the values as inverted: pass
/// inverted CMYK, as Photoshop does, to get the colours you mean.) Mainly for tests.
int jb_encode_cmyk(const unsigned char *cmyk, int width, int height, int quality, int ycck,
                   unsigned char **jpeg, size_t *jpeg_size, jb_diagnostics *diag);

/// Free a buffer returned by jb_decode_rgb or jb_encode_*. NULL is fine.
void jb_free(void *pointer);

#ifdef __cplusplus
}
#endif
#endif
