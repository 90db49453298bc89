#include "jpeg_bridge.h"

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

int jpeg_bridge_lib_version(void) { return JPEG_LIB_VERSION; }

void jb_free(void *pointer) { free(pointer); }

/* Largest image we agree to allocate, in pixels (16384 x 16384). */
#define JB_MAX_PIXELS ((size_t)1 << 28)

/* ------------------------------------------------------------------------------------------------ */
/* Error manager: error_exit longjmps back into the jb_* function; warnings are counted and kept.   */

typedef struct {
    struct jpeg_error_mgr pub; /* must be first: libjpeg sees a struct jpeg_error_mgr* */
    jmp_buf jump;
    jb_diagnostics *diag;
} jb_error_mgr;

static void jb_copy_message(char *destination, const char *source) {
    strncpy(destination, source, JB_MESSAGE_CAPACITY - 1);
    destination[JB_MESSAGE_CAPACITY - 1] = '\0';
}

static void jb_error_exit(j_common_ptr cinfo) {
    jb_error_mgr *mgr = (jb_error_mgr *)cinfo->err;
    char buffer[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, buffer);
    jb_copy_message(mgr->diag->error, buffer);
    mgr->diag->error_code = cinfo->err->msg_code;
    longjmp(mgr->jump, 1);
}

static void jb_emit_message(j_common_ptr cinfo, int msg_level) {
    jb_error_mgr *mgr = (jb_error_mgr *)cinfo->err;
    if (msg_level >= 0) return; /* trace messages: ignore */
    jb_diagnostics *diag = mgr->diag;
    cinfo->err->num_warnings++;
    diag->warning_count++;
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) diag->premature_end = 1;
    char buffer[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, buffer);
    for (int i = 0; i < diag->stored_warnings; i++) {
        if (strncmp(diag->warnings[i], buffer, JB_MESSAGE_CAPACITY - 1) == 0) return;
    }
    if (diag->stored_warnings < JB_MAX_WARNING_MESSAGES) {
        jb_copy_message(diag->warnings[diag->stored_warnings], buffer);
        diag->stored_warnings++;
    }
}

static void jb_output_message(j_common_ptr cinfo) { (void)cinfo; /* never print to stderr */ }

static void jb_setup_errors(jb_error_mgr *mgr, jb_diagnostics *diag) {
    memset(diag, 0, sizeof(*diag));
    jpeg_std_error(&mgr->pub);
    mgr->pub.error_exit = jb_error_exit;
    mgr->pub.emit_message = jb_emit_message;
    mgr->pub.output_message = jb_output_message;
    mgr->diag = diag;
}

static int jb_fail(jb_diagnostics *diag, int status, const char *message) {
    if (diag) jb_copy_message(diag->error, message);
    return status;
}

/* ------------------------------------------------------------------------------------------------ */
/* Decoding                                                                                         */

static int jb_map_color_space(J_COLOR_SPACE space) {
    switch (space) {
    case JCS_GRAYSCALE: return JB_CS_GRAYSCALE;
    case JCS_RGB: return JB_CS_RGB;
    case JCS_YCbCr: return JB_CS_YCBCR;
    case JCS_CMYK: return JB_CS_CMYK;
    case JCS_YCCK: return JB_CS_YCCK;
    default: return JB_CS_UNKNOWN;
    }
}

static void jb_fill_header(const struct jpeg_decompress_struct *cinfo, jb_header *header) {
    memset(header, 0, sizeof(*header));
    header->width = (int)cinfo->image_width;
    header->height = (int)cinfo->image_height;
    header->components = cinfo->num_components;
    header->color_space = jb_map_color_space(cinfo->jpeg_color_space);
    header->adobe_marker = cinfo->saw_Adobe_marker ? 1 : 0;
    header->adobe_transform = cinfo->saw_Adobe_marker ? (int)cinfo->Adobe_transform : -1;
    header->inverted_cmyk =
        (cinfo->saw_Adobe_marker &&
         (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK)) ? 1 : 0;
    header->progressive = cinfo->progressive_mode ? 1 : 0;
    header->jfif_marker = cinfo->saw_JFIF_marker ? 1 : 0;
}

/* Pillow's MULDIV255: a * b / 255, rounded, in integers. */
static inline int jb_muldiv255(int a, int b) {
    int t = a * b + 128;
    return ((t >> 8) + t) >> 8;
}

static inline unsigned char jb_clip8(int v) { return (unsigned char)(v < 0 ? 0 : (v > 255 ? 255 : v)); }

/* CMYK row (as libjpeg returns it, i.e. the stored values) to RGB, the way Pillow converts:
 * with true ink amounts c, m, y, k: R = (255 - k) - c * (255 - k) / 255 (likewise G, B).
 * Adobe (Photoshop) files store 255 - ink; then R = stored_c * stored_k / 255. */
static void jb_cmyk_row_to_rgb(const unsigned char *in, unsigned char *out, int width, int inverted) {
    for (int x = 0; x < width; x++) {
        int c = in[0], m = in[1], y = in[2], k = in[3];
        if (inverted) { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k; }
        int nk = 255 - k;
        out[0] = jb_clip8(nk - jb_muldiv255(c, nk));
        out[1] = jb_clip8(nk - jb_muldiv255(m, nk));
        out[2] = jb_clip8(nk - jb_muldiv255(y, nk));
        in += 4;
        out += 3;
    }
}

int jb_read_header(const unsigned char *data, size_t size, jb_header *header, jb_diagnostics *diag) {
    if (!diag) return JB_ERR_ARGUMENT;
    memset(diag, 0, sizeof(*diag));
    if (!data || size == 0 || !header) return jb_fail(diag, JB_ERR_ARGUMENT, "no data");

    struct jpeg_decompress_struct cinfo;
    jb_error_mgr mgr;
    jb_setup_errors(&mgr, diag);
    cinfo.err = &mgr.pub;
    if (setjmp(mgr.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return JB_ERR_LIBJPEG;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    jb_fill_header(&cinfo, header);
    jpeg_destroy_decompress(&cinfo);
    return JB_OK;
}

int jb_decode_rgb(const unsigned char *data, size_t size, unsigned char **pixels, jb_header *header,
                  jb_diagnostics *diag) {
    if (!diag) return JB_ERR_ARGUMENT;
    memset(diag, 0, sizeof(*diag));
    if (!pixels || !header) return jb_fail(diag, JB_ERR_ARGUMENT, "no output pointer");
    *pixels = NULL;
    if (!data || size == 0) return jb_fail(diag, JB_ERR_ARGUMENT, "no data");

    struct jpeg_decompress_struct cinfo;
    jb_error_mgr mgr;
    /* Changed between setjmp and a possible longjmp: volatile so their values survive the jump. */
    unsigned char *volatile output = NULL;
    unsigned char *volatile row = NULL;

    jb_setup_errors(&mgr, diag);
    cinfo.err = &mgr.pub;
    if (setjmp(mgr.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(output);
        free(row);
        return JB_ERR_LIBJPEG;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    jb_fill_header(&cinfo, header);

    int kind = header->color_space;
    int needs_row = 0;
    switch (kind) {
    case JB_CS_GRAYSCALE:
        cinfo.out_color_space = JCS_GRAYSCALE;
        needs_row = 1;
        break;
    case JB_CS_RGB:
    case JB_CS_YCBCR:
        cinfo.out_color_space = JCS_RGB;
        break;
    case JB_CS_CMYK:
    case JB_CS_YCCK:
        cinfo.out_color_space = JCS_CMYK; /* libjpeg converts YCCK to CMYK */
        needs_row = 1;
        break;
    default: {
        char message[JB_MESSAGE_CAPACITY];
        snprintf(message, sizeof message, "unsupported JPEG colour layout: %d components, colour space %d",
                 cinfo.num_components, (int)cinfo.jpeg_color_space);
        jpeg_destroy_decompress(&cinfo);
        return jb_fail(diag, JB_ERR_UNSUPPORTED, message);
    }
    }
    cinfo.dct_method = JDCT_ISLOW;

    size_t width = cinfo.image_width, height = cinfo.image_height;
    if (width == 0 || height == 0 || width * height > JB_MAX_PIXELS) {
        char message[JB_MESSAGE_CAPACITY];
        snprintf(message, sizeof message, "image too large to decode: %zux%zu", width, height);
        jpeg_destroy_decompress(&cinfo);
        return jb_fail(diag, JB_ERR_NO_MEMORY, message);
    }
    output = (unsigned char *)malloc(width * height * 3);
    if (needs_row) row = (unsigned char *)malloc(width * 4);
    if (!output || (needs_row && !row)) {
        jpeg_destroy_decompress(&cinfo);
        free(output);
        free(row);
        return jb_fail(diag, JB_ERR_NO_MEMORY, "out of memory");
    }

    jpeg_start_decompress(&cinfo);
    while (cinfo.output_scanline < cinfo.output_height) {
        size_t y = cinfo.output_scanline;
        unsigned char *destination = output + y * width * 3;
        JSAMPROW target = needs_row ? row : destination;
        if (jpeg_read_scanlines(&cinfo, &target, 1) != 1) break; /* cannot happen with a memory source */
        if (kind == JB_CS_GRAYSCALE) {
            for (size_t x = 0; x < width; x++) {
                unsigned char v = row[x];
                destination[3 * x] = v;
                destination[3 * x + 1] = v;
                destination[3 * x + 2] = v;
            }
        } else if (kind == JB_CS_CMYK || kind == JB_CS_YCCK) {
            jb_cmyk_row_to_rgb(row, destination, (int)width, header->inverted_cmyk);
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    *pixels = output;
    return JB_OK;
}

/* ------------------------------------------------------------------------------------------------ */
/* Encoding: our own growable memory destination, so that a longjmp never leaks or double-frees.   */

typedef struct {
    struct jpeg_destination_mgr pub; /* must be first */
    unsigned char *buffer;
    size_t capacity;
} jb_destination;

#define JB_DEST_CHUNK 16384

static void jb_dest_init(j_compress_ptr cinfo) {
    jb_destination *dest = (jb_destination *)cinfo->dest;
    dest->pub.next_output_byte = dest->buffer;
    dest->pub.free_in_buffer = dest->capacity;
}

static boolean jb_dest_empty(j_compress_ptr cinfo) {
    /* Called when the whole buffer is full (free_in_buffer == 0): grow it. */
    jb_destination *dest = (jb_destination *)cinfo->dest;
    size_t used = dest->capacity;
    size_t capacity = dest->capacity * 2;
    unsigned char *grown = (unsigned char *)realloc(dest->buffer, capacity);
    if (!grown) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 10);
    dest->buffer = grown;
    dest->capacity = capacity;
    dest->pub.next_output_byte = grown + used;
    dest->pub.free_in_buffer = capacity - used;
    return TRUE;
}

static void jb_dest_term(j_compress_ptr cinfo) { (void)cinfo; }

static int jb_check_encode_arguments(const unsigned char *input, int width, int height, int quality,
                                     unsigned char **jpeg, size_t *jpeg_size, jb_diagnostics *diag) {
    if (!jpeg || !jpeg_size) return jb_fail(diag, JB_ERR_ARGUMENT, "no output pointer");
    *jpeg = NULL;
    *jpeg_size = 0;
    if (!input) return jb_fail(diag, JB_ERR_ARGUMENT, "no pixels");
    if (width <= 0 || height <= 0 || width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION) {
        char message[JB_MESSAGE_CAPACITY];
        snprintf(message, sizeof message, "cannot encode a %dx%d image (each side must be 1...%d)", width,
                 height, (int)JPEG_MAX_DIMENSION);
        return jb_fail(diag, JB_ERR_ARGUMENT, message);
    }
    if (quality < 1 || quality > 100) {
        char message[JB_MESSAGE_CAPACITY];
        snprintf(message, sizeof message, "JPEG quality %d is outside 1...100", quality);
        return jb_fail(diag, JB_ERR_ARGUMENT, message);
    }
    return JB_OK;
}

/* Shared body of the encoders. components: 3 (RGB input) or 4 (CMYK input). */
static int jb_encode(const unsigned char *input, int components, int width, int height, int quality,
                     int subsampling, int ycck, unsigned char **jpeg, size_t *jpeg_size,
                     jb_diagnostics *diag) {
    if (!diag) return JB_ERR_ARGUMENT;
    memset(diag, 0, sizeof(*diag));
    int status = jb_check_encode_arguments(input, width, height, quality, jpeg, jpeg_size, diag);
    if (status != JB_OK) return status;

    struct jpeg_compress_struct cinfo;
    jb_error_mgr mgr;
    jb_destination dest;
    memset(&dest, 0, sizeof dest);
    dest.buffer = (unsigned char *)malloc(JB_DEST_CHUNK);
    if (!dest.buffer) return jb_fail(diag, JB_ERR_NO_MEMORY, "out of memory");
    dest.capacity = JB_DEST_CHUNK;
    dest.pub.init_destination = jb_dest_init;
    dest.pub.empty_output_buffer = jb_dest_empty;
    dest.pub.term_destination = jb_dest_term;

    jb_setup_errors(&mgr, diag);
    cinfo.err = &mgr.pub;
    if (setjmp(mgr.jump)) {
        jpeg_destroy_compress(&cinfo);
        /* dest lives in this frame and is only changed through pointers: reread it via volatile. */
        free(((volatile jb_destination *)&dest)->buffer);
        return JB_ERR_LIBJPEG;
    }
    jpeg_create_compress(&cinfo);
    cinfo.dest = &dest.pub;
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = components;
    cinfo.in_color_space = components == 4 ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    if (components == 4) jpeg_set_colorspace(&cinfo, ycck ? JCS_YCCK : JCS_CMYK);
    jpeg_set_quality(&cinfo, quality, TRUE);
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.optimize_coding = TRUE;
    cinfo.write_JFIF_header = components == 3 ? TRUE : FALSE;
    if (components == 3) {
        int h = 2, v = 2;
        if (subsampling == JB_SUBSAMPLING_422) { h = 2; v = 1; }
        else if (subsampling == JB_SUBSAMPLING_444) { h = 1; v = 1; }
        cinfo.comp_info[0].h_samp_factor = h;
        cinfo.comp_info[0].v_samp_factor = v;
        for (int c = 1; c < 3; c++) {
            cinfo.comp_info[c].h_samp_factor = 1;
            cinfo.comp_info[c].v_samp_factor = 1;
        }
    } else {
        for (int c = 0; c < 4; c++) {
            cinfo.comp_info[c].h_samp_factor = 1;
            cinfo.comp_info[c].v_samp_factor = 1;
        }
    }

    jpeg_start_compress(&cinfo, TRUE);
    size_t stride = (size_t)width * (size_t)components;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(input + (size_t)cinfo.next_scanline * stride);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    size_t written = dest.capacity - dest.pub.free_in_buffer;
    jpeg_destroy_compress(&cinfo);

    *jpeg = dest.buffer;
    *jpeg_size = written;
    return JB_OK;
}

int jb_encode_rgb(const unsigned char *rgb, int width, int height, int quality, int subsampling,
                  unsigned char **jpeg, size_t *jpeg_size, jb_diagnostics *diag) {
    if (subsampling < JB_SUBSAMPLING_420 || subsampling > JB_SUBSAMPLING_444) {
        if (!diag) return JB_ERR_ARGUMENT;
        memset(diag, 0, sizeof(*diag));
        if (jpeg) *jpeg = NULL;
        if (jpeg_size) *jpeg_size = 0;
        return jb_fail(diag, JB_ERR_ARGUMENT, "unknown chroma subsampling");
    }
    return jb_encode(rgb, 3, width, height, quality, subsampling, 0, jpeg, jpeg_size, diag);
}

int jb_encode_cmyk(const unsigned char *cmyk, int width, int height, int quality, int ycck,
                   unsigned char **jpeg, size_t *jpeg_size, jb_diagnostics *diag) {
    return jb_encode(cmyk, 4, width, height, quality, JB_SUBSAMPLING_444, ycck, jpeg, jpeg_size, diag);
}
