/* SPDX-License-Identifier: ISC */
#ifndef INLET_TEST_CHAT_H
#define INLET_TEST_CHAT_H
#endif
