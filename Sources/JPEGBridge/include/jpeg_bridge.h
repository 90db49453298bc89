#ifndef JPEG_BRIDGE_H
#define JPEG_BRIDGE_H
/// The libjpeg version the bridge was compiled against (JPEG_LIB_VERSION, e.g. 62).
int jpeg_bridge_lib_version(void);
#endif
