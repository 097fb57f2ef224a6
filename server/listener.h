/* SPDX-License-Identifier: ISC */
#ifndef INLET_LISTENER_H
#define INLET_LISTENER_H
#endif
