/* SPDX-License-Identifier: ISC */
#include "conn.h"
typedef int conn_stub_t;
