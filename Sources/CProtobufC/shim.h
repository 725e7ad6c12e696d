#ifndef KEEL_CPROTOBUFC_SHIM_H
#define KEEL_CPROTOBUFC_SHIM_H
#include <protobuf-c/protobuf-c.h>
#endif
