/*
 * notify.h - a daemon's side of systemd's service notification protocol
 * (sd_notify(3)): READY=1 once it serves, STOPPING=1 when asked to stop,
 * and WATCHDOG=1 while its periodic work makes progress.
 *
 * Linked into the daemons' main() only, never into a library: a program
 * that embeds libtwopc-participant owns its notification socket and says
 * itself when it is ready (twopc_participant_progress() is its watchdog's
 * measure).
 *
 * Without NOTIFY_SOCKET every call is a no-op; without WATCHDOG_USEC (or
 * with a WATCHDOG_PID that is not this process) no watchdog thread runs.
 * None of the functions exits the process or fails it: a notification
 * that cannot be sent is logged at DEBUG and forgotten (systemd then
 * acts on its own timeout, which is the right outcome).
 */
#ifndef TWOPC_NOTIFY_H
#define TWOPC_NOTIFY_H

#include <stdint.h>

/* READY=1 with STATUS=WHAT (a short line: "serving on URL"). Call once,
 * after the log is recovered and the listen socket accepts requests. */
void notify_ready(const char *what);

/* STOPPING=1. Any thread (the signal thread calls it). */
void notify_stopping(void);

/* A monotonically growing count of the daemon's completed periodic
 * passes (the coordinator's resender, the participant's background
 * thread). Called from the watchdog thread; must not block. */
typedef uint64_t (*notify_progress_fn)(void *arg);

/* If the service manager asked for a watchdog, start the thread that
 * reads PROGRESS(ARG) every quarter of the watchdog period and sends
 * WATCHDOG=1 only when it grew since the last look: a daemon whose
 * periodic thread is wedged stops pinging and is restarted. 0, or an
 * errno value of pthread_create. Not thread-safe; call once. */
int notify_watchdog_start(notify_progress_fn progress, void *arg);

/* Stop and join the watchdog thread (no-op if none runs). */
void notify_watchdog_stop(void);

/* A daemon's serving life once it listens, the same for both: READY=1
 * with WHAT, the watchdog fed while PROGRESS(ARG) grows (a warning if its
 * thread cannot start), WAIT(ARG) until the daemon stops, the watchdog
 * stopped. Returns what WAIT returned. */
typedef int (*notify_wait_fn)(void *arg);
int notify_serve(const char *what, notify_progress_fn progress, notify_wait_fn wait, void *arg);

#endif
