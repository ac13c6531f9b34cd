/*
 * djson.h - JSON output of the twopc driver (twopc(1) --json).
 */
#ifndef TWOPC_DJSON_H
#define TWOPC_DJSON_H

/* Print S to stdout as a JSON string: quoted, with '"' and '\' escaped,
 * control characters (and DEL) as \u00XX, well-formed UTF-8 as it is, and
 * every byte that is not part of well-formed UTF-8 as \u00XX of its value
 * (so the output is always valid JSON, and the bytes can be told back:
 * U+0080..U+00FF never appear escaped otherwise). S must not be NULL. */
void djson_str(const char *s);

#endif
