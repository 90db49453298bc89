#include "jpeg_bridge.h"
#include <stdio.h>
#include <jpeglib.h>

int jpeg_bridge_lib_version(void) { return JPEG_LIB_VERSION; }
