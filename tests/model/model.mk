# tests/model/model.mk -- the protocol model check, included by the
# top-level Makefile (run from the repository root).
#
#   make model         exhaustive SPIN checks of tests/model/twopc.pml and
#                      tests/model/locks.pml (needs spin and gcc; about 7-11
#                      minutes on two loaded cores)
#   make model-quick   the same with smaller fault bounds and fewer checks
#                      (2-3 minutes; part of make test)
#
# run.sh works in a mktemp -d directory: nothing is written to the tree.
# Its last line is "model: N passed, M failed"; it exits non-zero on failure.

MODEL_RUN ?= bash tests/model/run.sh

.PHONY: model model-quick

model:
	$(MODEL_RUN)

model-quick:
	$(MODEL_RUN) --quick
