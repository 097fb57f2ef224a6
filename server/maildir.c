/* SPDX-License-Identifier: ISC */
/* stub, being written */
#include "maildir.h"
