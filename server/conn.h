/* SPDX-License-Identifier: ISC */
#ifndef INLET_CONN_H
#define INLET_CONN_H
#endif
