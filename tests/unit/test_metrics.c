/* The metrics endpoint (src/metrics.c): the statistics object rendered in
 * the Prometheus text format, and the HTTP server answering over a real
 * socket on the loopback. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics.h"

static const char stats[] =
	"{\"packets\":120,\"bytes\":9000,\"packets_not_decoded\":2,"
	"\"not_decoded\":{\"truncated_ip\":2},"
	"\"flows\":{\"created\":4,\"peak_active\":3},"
	"\"records\":7,\"records_by_code\":{\"31\":5,\"10\":2},"
	"\"requests_pending\":1,"
	"\"protocols\":{\"modbus\":{\"flows\":3,\"records\":7,\"events\":{\"stream_gap\":1}},"
	"\"mqtt\":{\"flows\":1,\"records\":0,\"events\":{}}},"
	"\"peak_memory_kb\":2048,"
	"\"capture\":{\"veth0\":{\"received\":120,\"dropped_kernel\":0}},"
	"\"syslog\":{\"udp://127.0.0.1:514\":{\"delivered\":6,\"queued\":1,\"connected\":true,"
	"\"last_error\":\"a \\\"quoted\\\" error\"}}}";

static char *render(void)
{
	json_object *o = json_tokener_parse(stats);
	cr_assert_not_null(o);
	char *text = metrics_render(o);
	json_object_put(o);
	cr_assert_not_null(text);
	return text;
}

static void has_line(const char *text, const char *line)
{
	char want[512];
	snprintf(want, sizeof(want), "\n%s\n", line);
	cr_assert(strstr(text, want) || !strncmp(text, want + 1, strlen(want + 1)), "no line \"%s\" in:\n%s", line, text);
}

Test(metrics, render_families_and_labels)
{
	char *t = render();
	has_line(t, "# TYPE x1367ids_packets_total counter");
	has_line(t, "x1367ids_packets_total 120");
	has_line(t, "x1367ids_packets_not_decoded_by_reason_total{reason=\"truncated_ip\"} 2");
	has_line(t, "x1367ids_flows_created_total 4");
	has_line(t, "# TYPE x1367ids_flows_peak_active gauge");
	has_line(t, "x1367ids_flows_peak_active 3");
	has_line(t, "x1367ids_records_by_code_total{code=\"31\"} 5");
	has_line(t, "x1367ids_records_by_code_total{code=\"10\"} 2");
	has_line(t, "x1367ids_requests_pending 1");
	has_line(t, "x1367ids_protocol_records_total{protocol=\"modbus\"} 7");
	has_line(t, "x1367ids_protocol_records_total{protocol=\"mqtt\"} 0");
	has_line(t, "x1367ids_protocol_events_total{protocol=\"modbus\",event=\"stream_gap\"} 1");
	has_line(t, "# TYPE x1367ids_peak_memory_bytes gauge");
	has_line(t, "x1367ids_peak_memory_bytes 2097152");
	has_line(t, "x1367ids_capture_dropped_kernel_total{interface=\"veth0\"} 0");
	has_line(t, "x1367ids_syslog_delivered_total{collector=\"udp://127.0.0.1:514\"} 6");
	has_line(t, "x1367ids_syslog_queued{collector=\"udp://127.0.0.1:514\"} 1");
	has_line(t, "x1367ids_syslog_connected{collector=\"udp://127.0.0.1:514\"} 1");
	cr_assert_null(strstr(t, "last_error"), "text is no metric");
	/* each family announced once, all its samples together */
	const char *first = strstr(t, "# TYPE x1367ids_protocol_records_total");
	cr_assert_not_null(first);
	cr_assert_null(strstr(first + 1, "# TYPE x1367ids_protocol_records_total"));
	cr_assert_lt(strstr(t, "protocol_records_total{protocol=\"mqtt\"}") - strstr(t, "protocol_records_total{protocol=\"modbus\"}"), 80);
	free(t);
}

Test(metrics, label_values_escaped)
{
	json_object *o = json_tokener_parse("{\"protocols\":{\"a\\\"b\\\\c\\nd\":{\"flows\":1}}}");
	char *t = metrics_render(o);
	json_object_put(o);
	has_line(t, "x1367ids_protocol_flows_total{protocol=\"a\\\"b\\\\c\\nd\"} 1");
	free(t);
}

Test(metrics, listen_syntax)
{
	char err[METRICS_ERR_LEN];
	cr_assert_eq(metrics_check_listen("9367", err), 0);
	cr_assert_eq(metrics_check_listen("127.0.0.1:9367", err), 0);
	cr_assert_eq(metrics_check_listen("0.0.0.0:9367", err), 0);
	cr_assert_eq(metrics_check_listen("[::1]:9367", err), 0);
	cr_assert_eq(metrics_check_listen("::1:9367", err), -1);
	cr_assert_eq(metrics_check_listen("localhost:9367", err), -1);
	cr_assert_eq(metrics_check_listen("127.0.0.1:65536", err), -1);
	cr_assert_eq(metrics_check_listen("127.0.0.1:", err), -1);
	cr_assert_eq(metrics_check_listen("127.0.0.1:-1", err), -1);
	cr_assert(strstr(err, "--metrics-listen: \"127.0.0.1:-1\""), "%s", err);
}

/* One HTTP/1.0 exchange; the whole answer (headers and body). */
static char *http(unsigned port, const char *request)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	static char buf[65536];
	size_t n = 0;
	ssize_t k;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	while (n < sizeof(buf) - 1 && (k = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = '\0';
	close(fd);
	return buf;
}

Test(metrics, serves_the_last_published_text)
{
	char err[METRICS_ERR_LEN];
	struct metrics *m = metrics_bind("127.0.0.1:0", err);
	cr_assert_not_null(m, "%s", err);
	unsigned port = metrics_port(m);
	cr_assert_gt(port, 0);
	cr_assert_eq(metrics_start(m, err), 0, "%s", err);

	char *r = http(port, "GET /metrics HTTP/1.0\r\n\r\n");
	cr_assert(strstr(r, " 503 "), "%s", r);
	metrics_publish(m, strdup("x1367ids_packets_total 1\n"));
	metrics_publish(m, strdup("x1367ids_packets_total 2\n"));   /* the first never served: freed */
	r = http(port, "GET /metrics HTTP/1.0\r\n\r\n");
	cr_assert(strstr(r, "HTTP/1.0 200") || strstr(r, "HTTP/1.1 200"), "%s", r);
	cr_assert(strstr(r, "text/plain; version=0.0.4"), "%s", r);
	cr_assert(strstr(r, "\r\n\r\nx1367ids_packets_total 2\n"), "%s", r);
	/* nothing new published: the same text again */
	r = http(port, "GET /metrics HTTP/1.0\r\n\r\n");
	cr_assert(strstr(r, "\r\n\r\nx1367ids_packets_total 2\n"), "%s", r);
	r = http(port, "GET / HTTP/1.0\r\n\r\n");
	cr_assert(strstr(r, " 404 "), "%s", r);
	r = http(port, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
	cr_assert(strstr(r, " 405 "), "%s", r);
	metrics_stop(m);
}

Test(metrics, port_in_use)
{
	char err[METRICS_ERR_LEN];
	struct metrics *a = metrics_bind("127.0.0.1:0", err), *b;
	char spec[32];
	cr_assert_not_null(a, "%s", err);
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", metrics_port(a));
	b = metrics_bind(spec, err);
	cr_assert_null(b);
	cr_assert(strstr(err, "Address already in use"), "%s", err);
	metrics_stop(a);
}
