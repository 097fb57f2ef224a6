/* SPDX-License-Identifier: ISC */
/* stub, being written */
#include "smtp_cmd.h"
