/*
 * Retry policy as pure functions of a bounce profile's numbers: the
 * interval before the next attempt (exponential from retry_initial,
 * capped at retry_max) and whether a temporary failure still defers or
 * bounces (max_retries, max_age).  No state, no I/O: unit-tested in
 * tests/check_sched.c.
 */
#include "bw_autoconf.h"

#include "queued.h"

/* The wait after n failed attempts (n = 0: the first retry), in ms. */
long long
qretry_interval(long long initial, long long max, uint32_t n)
{
	long long	 v;

	if (initial <= 0)
		initial = 1000;
	if (max < initial)
		max = initial;
	v = initial;
	while (n-- > 0) {
		if (v >= max / 2)
			return max;
		v *= 2;
	}
	return v > max ? max : v;
}

/*
 * 1 when a message that arrived at created (s) is surely older than max_age.
 * Both times are whole seconds, so the real arrival may lie up to a second
 * after created: one second is added so that a message never expires early
 * (it may expire up to a second late, which no sender can tell).
 */
int
qretry_expired(int64_t created, int64_t now, long long max_age_ms)
{
	if (max_age_ms <= 0)
		return 0;
	return (now - created - 1) * 1000LL >= max_age_ms;
}

/*
 * After a temporary failure: attempts counts the failed attempts including
 * this one.  max_retries 0 bounces at once, -1 lets max_age alone decide.
 */
int
qretry_decide(uint32_t attempts, int max_retries, int64_t created,
    int64_t now, long long max_age_ms)
{
	if (max_retries == 0 ||
	    (max_retries > 0 && attempts > (uint32_t)max_retries))
		return QRETRY_BOUNCE_RETRIES;
	if (qretry_expired(created, now, max_age_ms))
		return QRETRY_BOUNCE_AGE;
	return QRETRY_DEFER;
}
