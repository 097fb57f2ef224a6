/* SPDX-License-Identifier: ISC */
/* stub, being written */
#include "session.h"
typedef int session_stub_t;
