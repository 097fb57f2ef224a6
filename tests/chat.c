/* SPDX-License-Identifier: ISC */
#include "chat.h"
typedef int chat_stub_t;
