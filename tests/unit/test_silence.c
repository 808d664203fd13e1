/* Silence of a periodic sender (Appendix I.3). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "addr.h"
#include "silence.h"

#define S 1000000ull
static const int owner = 1;

struct fired {
	char uid[64];
	uint64_t at, period;
	int n;
};

static void on_fire(const struct silence_device *d, uint64_t at, void *arg)
{
	struct fired *f = arg;
	snprintf(f->uid, sizeof(f->uid), "%s", d->uid);
	f->at = at;
	f->period = d->period_usec;
	f->n++;
}

static void beat(struct silence *s, const char *uid, uint64_t t)
{
	struct x1367_addr a;
	cr_assert_eq(addr_parse("192.0.2.9", &a), 0);
	silence_beat(s, &owner, uid, &a, 3610, X1367_UDP, t, 0);
}

Test(silence, fires_once_after_three_periods)
{
	struct fired f = {0};
	struct silence *s = silence_new(16, 3, 3, on_fire, &f);
	for (int i = 0; i <= 4; i++)
		beat(s, "dev#1", 100 * S + (uint64_t)i * 10 * S);   /* last at 140 s */
	silence_check(s, 170 * S);
	cr_assert_eq(f.n, 0, "exactly 3 periods is not yet more than 3");
	silence_check(s, 170 * S + 1);
	cr_assert_eq(f.n, 1);
	cr_assert_str_eq(f.uid, "dev#1");
	cr_assert_eq(f.at, 170 * S);
	cr_assert_eq(f.period, 10 * S);
	silence_check(s, 500 * S);
	cr_assert_eq(f.n, 1, "one record per silence");
	beat(s, "dev#1", 600 * S);
	cr_assert_eq(silence_stats(s)->came_back, 1);
	silence_free(s);
}

Test(silence, needs_enough_regular_intervals)
{
	struct fired f = {0};
	struct silence *s = silence_new(16, 3, 3, on_fire, &f);
	beat(s, "a", 0);
	beat(s, "a", 10 * S);
	beat(s, "a", 20 * S);           /* two intervals only */
	silence_check(s, 1000 * S);
	cr_assert_eq(f.n, 0);
	silence_free(s);
}

Test(silence, irregular_talkers_are_never_judged)
{
	struct fired f = {0};
	struct silence *s = silence_new(16, 3, 3, on_fire, &f);
	uint64_t t[] = {0, 2, 30, 31, 90, 200, 201, 260};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		beat(s, "b", t[i] * S);
	silence_check(s, 5000 * S);
	cr_assert_eq(f.n, 0);
	silence_free(s);
}

Test(silence, a_burst_is_one_beat)
{
	struct fired f = {0};
	struct silence *s = silence_new(16, 3, 3, on_fire, &f);
	for (int i = 0; i < 5; i++) {
		beat(s, "c", (uint64_t)i * 2 * S);            /* a poll cycle every 2 s ... */
		beat(s, "c", (uint64_t)i * 2 * S + 5000);     /* ... reading two registers */
	}
	silence_check(s, 8 * S + 6 * S + 1);
	cr_assert_eq(f.n, 1);
	cr_assert_eq(f.period, 2 * S);
	silence_free(s);
}

Test(silence, table_is_bounded)
{
	struct silence *s = silence_new(2, 3, 3, NULL, NULL);
	beat(s, "d1", 0);
	beat(s, "d2", 0);
	beat(s, "d3", 0);
	cr_assert_eq(silence_stats(s)->devices, 2);
	cr_assert_eq(silence_stats(s)->dropped_table_full, 1);
	silence_free(s);
}

Test(silence, a_long_unique_id_is_one_device)
{
	char uid[200];
	struct silence *s = silence_new(16, 3, 3, NULL, NULL);
	memset(uid, 'x', sizeof(uid) - 1);
	uid[sizeof(uid) - 1] = '\0';
	for (int i = 0; i < 5; i++)
		beat(s, uid, (uint64_t)i * 10 * S);
	cr_assert_eq(silence_stats(s)->devices, 1);
	silence_free(s);
}

static void polled_answer(struct silence *s, const char *uid, uint64_t t)
{
	struct x1367_addr a;
	cr_assert_eq(addr_parse("192.0.2.9", &a), 0);
	silence_request(s, &owner, &a, t - 1000);
	silence_beat(s, &owner, uid, &a, 502, X1367_TCP, t, 1);
}

Test(silence, a_polled_device_is_silent_only_while_asked)
{
	struct fired f = {0};
	struct x1367_addr a;
	struct silence *s = silence_new(16, 3, 3, on_fire, &f);
	cr_assert_eq(addr_parse("192.0.2.9", &a), 0);
	for (int i = 1; i <= 5; i++)
		polled_answer(s, "plc#1", (uint64_t)i * 2 * S);   /* last answer at 10 s */
	/* The poller stops too: no record. */
	silence_check(s, 100 * S);
	cr_assert_eq(f.n, 0);
	cr_assert_eq(silence_stats(s)->poller_stopped, 1);
	/* Polling resumes and answers come back, then the device stops
	 * answering while still asked: one record. */
	for (int i = 0; i <= 4; i++)
		polled_answer(s, "plc#1", 200 * S + (uint64_t)i * 2 * S);   /* last at 208 s */
	silence_request(s, &owner, &a, 210 * S);
	silence_request(s, &owner, &a, 212 * S);
	silence_check(s, 215 * S);
	cr_assert_eq(f.n, 1);
	cr_assert_eq(f.at, 214 * S);
	silence_free(s);
}
