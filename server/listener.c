/* SPDX-License-Identifier: ISC */
#include "listener.h"
typedef int listener_stub_t;
