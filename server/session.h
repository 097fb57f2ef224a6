/* SPDX-License-Identifier: ISC */
/* session stub */
#ifndef INLET_SESSION_H
#define INLET_SESSION_H
#endif
