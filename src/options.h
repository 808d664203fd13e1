/*
 * Command line and configuration file.  The file holds the same settings
 * as the long options, one "name = value" per line ("#" comments); flags
 * on the command line override it.
 */
#ifndef X1367_OPTIONS_H
#define X1367_OPTIONS_H

#include "engine.h"
#include "geoip.h"
#include "syslog.h"

#define OPTIONS_ERR_LEN 512
#define OPTIONS_MAX_TIMEOUTS 32

struct options {
	const char *read_file;        /* -r */
	const char *write_file;       /* -w */
	const char *bpf;              /* -f */
	const char *rules_dir;        /* --rules */
	const char *config_file;      /* -c */
	const char *reporter_ip;      /* --reporter-ip, as given */
	const char *geoip[GEOIP_MAX_DBS];
	size_t n_geoip;
	const char *assets_file;      /* --assets */
	const char *timeouts[OPTIONS_MAX_TIMEOUTS];   /* "modbus=5000" */
	size_t n_timeouts;
	const char *plugin_dir;       /* --plugin-dir; NULL: the default */
	const char *disabled[OPTIONS_MAX_TIMEOUTS];  /* --disable-plugin NAME */
	size_t n_disabled;
	int quiet_stats;              /* --no-stats */
	/* live capture */
	const char *ifaces[16];       /* -i, repeatable */
	size_t n_ifaces;
	int snaplen, buffer_mib, no_promisc, immediate;
	unsigned stats_interval;      /* seconds, 0 = off (default 60) */
	const char *stats_file;       /* default stderr */
	int stats_syslog;             /* also to the local syslog daemon */
	const char *metrics_listen;   /* --metrics-listen ADDR:PORT */
	const char *user;             /* -u */
	int allow_root;
	const char *chroot_dir;
	const char *pid_file;
	int foreground;
	int show_help, show_version, list_codes, list_plugins, check_config;
	struct engine_config engine;
	struct syslog_config syslog;   /* --syslog and friends */
	char *strings;                /* storage for values read from the file */
	size_t strings_len, strings_cap;
};

/* 0: ok; -1: usage or configuration error, message in err (exit 2). */
int options_parse(struct options *o, int argc, char **argv, char err[OPTIONS_ERR_LEN]);
void options_free(struct options *o);
/* --help; the default directories as this program resolved them (paths.h). */
void options_usage(FILE *fp, const char *rules_dir, const char *plugin_dir);

#endif
