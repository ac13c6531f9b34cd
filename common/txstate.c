/*
 * txstate.c - names of transaction states (see txstate.h).
 */
#include "txstate.h"

#include <string.h>

static const char *const tx_names[] = {
	"NONE", "INIT", "READY", "COMMIT", "ABORT", "WAIT", "END", "UNDECIDED",
};

const char *
tx_state_name(int s)
{
	if (s < 0 || s > TX_STATE_MAX)
		return "?";
	return tx_names[s];
}

tx_state
tx_state_parse(const char *s, int *ok)
{
	for (int i = 0; s != NULL && i <= TX_STATE_MAX; i++) {
		if (strcmp(s, tx_names[i]) == 0) {
			*ok = 1;
			return (tx_state)i;
		}
	}
	*ok = 0;
	return TX_NONE;
}
