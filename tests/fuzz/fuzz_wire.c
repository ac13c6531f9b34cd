/*
 * fuzz_wire.c - libFuzzer target for the message codec (wire.h).
 *
 * Property: every input either fails to decode, or decodes to a message
 * that encodes back to exactly the same bytes (the codec is canonical:
 * every field has one encoding, lengths are exact, flags and reserved
 * bytes must be 0 unless defined, nothing may follow the body). A BATCH's
 * items are decoded too (wire_batch_item), each with the same property.
 * Any crash, leak or undefined behaviour is a failure (ASan, UBSan).
 *
 * Built with libFuzzer by make fuzz; built with gcc and replay.c by the
 * tests to replay tests/fuzz/corpus/wire.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decode DATA; if it decodes, it must encode to DATA again. */
static void
fuzz_roundtrip(const uint8_t *data, size_t size, int depth)
{
	wire_msg m;
	wire_buf b = { 0 };
	if (wire_decode(data, size, &m) != 0)
		return;
	b.limit = WIRE_MAX_BATCH;
	if (wire_encode(&m, &b) != 0 || b.len != size || memcmp(b.data, data, size) != 0)
		abort(); /* decoded, but does not encode back to itself */
	for (size_t i = 0; depth == 0 && m.type == WIRE_BATCH && i < m.nitems; i++) {
		wire_msg in;
		if (wire_batch_item(&m, i, &in) == 0) {
			wire_msg_free(&in);
			fuzz_roundtrip(m.items[i].data, m.items[i].len, 1);
		}
	}
	wire_buf_free(&b);
	wire_msg_free(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_roundtrip(data, size, 0);
	return 0;
}
