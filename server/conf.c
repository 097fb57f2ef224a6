/* SPDX-License-Identifier: ISC */
/* stub, being written */
#include "conf.h"
