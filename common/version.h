/*
 * version.h - the release every program prints with --version.
 *
 * The Makefile passes VERSION as TWOPC_PKG_VERSION to every object; the
 * fallback only serves a compile outside it. The participant library's
 * TWOPC_VERSION_STRING (twopc/participant.h) must name the same release
 * (tests/test_ops.c checks that the programs agree with it).
 */
#ifndef TWOPC_VERSION_H
#define TWOPC_VERSION_H

#ifndef TWOPC_PKG_VERSION
#define TWOPC_PKG_VERSION "0.1.0"
#endif

#endif
