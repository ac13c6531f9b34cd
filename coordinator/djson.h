/*
 * djson.h - JSON output of the twopc driver (twopc(1) --json).
 */
#ifndef TWOPC_DJSON_H
#define TWOPC_DJSON_H

/* Print S to stdout as a JSON string: quoted, with '"' and '\' escaped and
 * control characters as \uXXXX. S must not be NULL. */
void djson_str(const char *s);

#endif
