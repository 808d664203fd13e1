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

/* A DNP3 outstation reporting events by unsolicited responses, 0.8-1.8 s
 * apart (dnp3_test_data_part1.pcap), then a 5 s lull: no period, no
 * silence.  The same with every interval within a quarter of 1.3 s is. */
Test(silence, event_driven_talkers_have_no_period)
{
	struct fired f = {0};
	struct silence *s = silence_new(16, 3, 3, on_fire, &f);
	uint64_t ms[] = {0, 800, 2600, 3500, 5100, 6000, 11000};
	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		beat(s, "events", ms[i] * 1000);
	uint64_t steady[] = {0, 1200, 2600, 3900, 5100, 6400};
	for (size_t i = 0; i < sizeof(steady) / sizeof(steady[0]); i++)
		beat(s, "steady", 100 * S + steady[i] * 1000);
	silence_check(s, 1000 * S);
	cr_assert_eq(f.n, 1);
	cr_assert_str_eq(f.uid, "steady");
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
	cr_assert_eq(f.n, 0, "3 periods are counted from its last word, the burst's end");
	silence_check(s, 8 * S + 5000 + 6 * S + 1);
	cr_assert_eq(f.n, 1);
	cr_assert_eq(f.at, 8 * S + 5000 + 6 * S);
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

/* One poll: the request at t - 1 ms, the answer at t. */
static void polled_answer(struct silence *s, const char *uid, uint64_t t)
{
	struct x1367_addr a;
	cr_assert_eq(addr_parse("192.0.2.9", &a), 0);
	silence_asked(s, &owner, uid, &a, t - 1000);
	silence_beat(s, &owner, uid, &a, 502, X1367_TCP, t, 1);
}

Test(silence, a_polled_device_is_silent_only_while_asked)
{
	struct fired f = {0};
	struct silence *s = silence_new(16, 3, 3, on_fire, &f);
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
	silence_asked(s, &owner, "plc#1", NULL, 210 * S);
	silence_asked(s, &owner, "plc#1", NULL, 212 * S);
	silence_check(s, 215 * S);
	cr_assert_eq(f.n, 1);
	cr_assert_eq(f.at, 214 * S);
	silence_free(s);
}

/* The case a public capture showed: a poll cycle of two requests (the
 * second answer inside the burst window), period 1.1 s, then the poller
 * skips cycles for 4.2 s while the device answered everything it got. */
static void poll_cycle(struct silence *s, uint64_t t)
{
	polled_answer(s, "plc#1", t + 5000);
	polled_answer(s, "plc#1", t + 15000);
}

Test(silence, a_poller_that_pauses_is_no_silent_device)
{
	struct fired f = {0};
	struct silence *s = silence_new(16, 3, 3, on_fire, &f);
	uint64_t t = 0;
	for (int i = 0; i < 6; i++, t += 1100000)
		poll_cycle(s, t);
	uint64_t resume = t - 1100000 + 4200000;
	silence_check(s, resume);
	cr_assert_eq(f.n, 0, "the device answered every request it got");
	cr_assert_eq(silence_stats(s)->poller_stopped, 1);
	for (int i = 0; i < 6; i++, resume += 1100000)
		poll_cycle(s, resume);
	silence_check(s, resume + 60 * S);
	cr_assert_eq(f.n, 0);
	silence_free(s);
}

Test(silence, a_poller_that_resumes_finds_the_device_dead)
{
	struct fired f = {0};
	struct silence *s = silence_new(16, 3, 3, on_fire, &f);
	for (int i = 1; i <= 5; i++)
		polled_answer(s, "plc#1", (uint64_t)i * 2 * S);   /* last answer at 10 s */
	for (uint64_t t = 16 * S + 1; t < 40 * S; t += S)
		silence_check(s, t);                                  /* nobody asks: no record */
	cr_assert_eq(f.n, 0);
	cr_assert_eq(silence_stats(s)->poller_stopped, 1);
	silence_asked(s, &owner, "plc#1", NULL, 40 * S);          /* asked again: no answer */
	for (uint64_t t = 40 * S; t <= 43 * S; t += S / 10)
		silence_check(s, t);
	cr_assert_eq(f.n, 1);
	cr_assert_eq(f.at, 42 * S, "one learned period after the request");
	silence_free(s);
}

Test(silence, an_exception_is_an_answer)
{
	struct fired f = {0};
	struct silence *s = silence_new(16, 3, 3, on_fire, &f);
	for (int i = 1; i <= 5; i++)
		polled_answer(s, "plc#1", (uint64_t)i * 2 * S);
	/* From then on every request gets an exception: heard, not a beat. */
	for (uint64_t t = 12 * S; t < 60 * S; t += 2 * S) {
		silence_asked(s, &owner, "plc#1", NULL, t);
		silence_heard(s, &owner, "plc#1", NULL, t + 1000);
		silence_check(s, t + 2000);
	}
	cr_assert_eq(f.n, 0);
	silence_free(s);
}

Test(silence, a_notifier_that_still_answers_is_not_silent)
{
	struct fired f = {0};
	struct x1367_addr a;
	struct silence *s = silence_new(16, 3, 3, on_fire, &f);
	cr_assert_eq(addr_parse("192.0.2.9", &a), 0);
	for (int i = 0; i <= 4; i++)
		beat(s, "hp#027D01", (uint64_t)i * 40 * S);   /* INF every 40 s, last at 160 s */
	silence_heard(s, &owner, NULL, &a, 250 * S);       /* its node answers a Get */
	silence_check(s, 300 * S);
	cr_assert_eq(f.n, 0);
	cr_assert_eq(silence_stats(s)->still_talking, 1);
	/* Its INFs resume; then it stops sending anything: one record. */
	for (int i = 0; i <= 4; i++)
		beat(s, "hp#027D01", 400 * S + (uint64_t)i * 40 * S);   /* last at 560 s */
	silence_check(s, 700 * S);
	cr_assert_eq(f.n, 1);
	cr_assert_eq(f.at, 680 * S);
	silence_free(s);
}

Test(silence, a_notifier_silent_after_its_last_answer)
{
	struct fired f = {0};
	struct x1367_addr a;
	struct silence *s = silence_new(16, 3, 3, on_fire, &f);
	cr_assert_eq(addr_parse("192.0.2.9", &a), 0);
	for (int i = 0; i <= 4; i++)
		beat(s, "hp#027D01", (uint64_t)i * 40 * S);   /* last INF at 160 s */
	silence_heard(s, &owner, NULL, &a, 250 * S);       /* last word at 250 s */
	silence_check(s, 300 * S);
	cr_assert_eq(f.n, 0);
	silence_check(s, 370 * S);
	cr_assert_eq(f.n, 0, "3 periods after its last word is not yet more");
	silence_check(s, 370 * S + 1);
	cr_assert_eq(f.n, 1);
	cr_assert_eq(f.at, 370 * S);
	silence_free(s);
}

Test(silence, requests_and_answers_of_unknown_devices_are_ignored)
{
	struct silence *s = silence_new(16, 3, 3, NULL, NULL);
	silence_asked(s, &owner, "never-heard#1", NULL, 1 * S);
	silence_heard(s, &owner, "never-heard#1", NULL, 2 * S);
	cr_assert_eq(silence_stats(s)->devices, 0);
	silence_free(s);
}

Test(silence, the_address_table_is_bounded_and_counted)
{
	struct x1367_addr a;
	struct silence *s = silence_new(2, 3, 3, NULL, NULL);
	const char *ips[] = {"192.0.2.1", "192.0.2.2", "192.0.2.3"};
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(addr_parse(ips[i], &a), 0);
		silence_asked(s, &owner, NULL, &a, S);
		silence_heard(s, &owner, NULL, &a, 2 * S);
	}
	cr_assert_eq(silence_stats(s)->requests_dropped, 2, "the third address, asked and heard");
	silence_free(s);
}
