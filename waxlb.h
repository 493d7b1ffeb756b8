/*
 * waxlb.h - types shared by waxlb.c and its unit tests.
 *
 * Everything a test or a fuzzer calls directly is declared here: the
 * configuration loader, the HTTP message parser, the chunked-framing
 * decoder, ACL evaluation, server selection and time parsing.  None of
 * these touch a socket or the clock, so they can be driven from a buffer.
 */
#ifndef WAXLB_H
#define WAXLB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <regex.h>
#include <bearssl.h>

#define WAXLB_VERSION		"0.1.0"

/* Named limits, in one place. */
#define BUFSIZE_DEFAULT		16384	/* tune.bufsize, as HAProxy */
#define MAXREWRITE		1024	/* room kept for added headers */
#define HDR_MAX			101	/* headers per message (tune.http.maxhdr) */
#define NAME_MAX_LEN		128	/* proxy, server and ACL names */
#define CFG_LINE_MAX		4096	/* one configuration line */
#define CFG_ARGS_MAX		64	/* words on one configuration line */
#define MAXCONN_DEFAULT		4096	/* global maxconn when unset */
#define CHUNK_LINE_MAX		4096	/* chunk-size line incl. extensions */
#define TRAILER_MAX		16384	/* all trailer lines of one message */
#define HDR_ACTIONS_MAX		32	/* set/add/del-header rules per proxy */

/* ------------------------------------------------------------------ */
/* Time values                                                          */

/* Parse an HAProxy time ("150", "10s", "2m", "500us").  A bare number is
 * milliseconds; microseconds round up to a whole millisecond.  Returns 0
 * and sets *ms, or -1 on a malformed or overflowing value. */
int parse_time(const char *s, unsigned *ms);

/* ------------------------------------------------------------------ */
/* HTTP/1.x messages                                                    */

struct http_hdr {
	const char	*name;
	const char	*value;
	unsigned short	 name_len;
	unsigned short	 value_len;
};

/* What the parser learnt about a message's framing and connection. */
#define MSG_CHUNKED	0x0001	/* Transfer-Encoding ends with chunked */
#define MSG_CLEN	0x0002	/* Content-Length present (clen valid) */
#define MSG_CONN_CLOSE	0x0004	/* Connection: close */
#define MSG_CONN_KA	0x0008	/* Connection: keep-alive */
#define MSG_CONN_UPG	0x0010	/* Connection: upgrade */
#define MSG_UPGRADE	0x0020	/* an Upgrade header is present */
#define MSG_WS		0x0040	/* Upgrade: websocket */
#define MSG_WS_KEY	0x0080	/* Sec-WebSocket-Key present */
#define MSG_EXPECT100	0x0100	/* Expect: 100-continue */
#define MSG_HOST	0x0200	/* a Host header is present */
#define MSG_BARE_LF	0x0400	/* a line ended with LF alone */
#define MSG_HOPHDR	0x0800	/* Connection, Keep-Alive, Proxy-Connection,
				 * Transfer-Encoding or Content-Length seen */
#define MSG_CONNHDR	0x1000	/* Connection, Keep-Alive or Proxy-Connection */

struct http_msg {
	/* request line */
	const char	*method;
	const char	*uri;
	unsigned short	 method_len;
	unsigned short	 uri_len;
	/* status line */
	int		 status;
	int		 minor;		/* HTTP/1.<minor> */
	unsigned	 flags;		/* MSG_* */
	int64_t		 clen;		/* Content-Length, -1 if none */
	int		 nhdr;
	int		 err;		/* status to answer when parse fails */
	const char	*err_what;	/* short reason, for the log */
	struct http_hdr	 hdr[HDR_MAX];
};

/* Parse a request (or response) head in buf[0..len).  Pure: no I/O, no
 * allocation; header views point into buf.  Returns the length of the
 * head (through the empty line) when complete, 0 when more bytes are
 * needed, -1 when malformed (m->err holds 400/414/431/501/505). */
int http_parse_request(const char *buf, size_t len, struct http_msg *m);
int http_parse_response(const char *buf, size_t len, struct http_msg *m);

/* Find header <name> (case-insensitive); returns its index or -1,
 * starting the search at index <from>. */
int http_find_hdr(const struct http_msg *m, const char *name, int from);

/* Resumable framing of a chunked body: tells where the message ends
 * while the bytes pass through untouched. */
struct chunk_dec {
	uint64_t	 left;		/* data bytes left in this chunk */
	unsigned	 state;
	unsigned	 line;		/* bytes of the current size/trailer line */
	unsigned	 trailers;	/* bytes of trailers seen */
	unsigned char	 digits;
};

/* Consume up to len bytes.  Returns the number of bytes that belong to
 * the message (stopping right after its end), or -1 if the framing is
 * malformed.  chunk_done() is true once the terminating CRLF is seen. */
long chunk_feed(struct chunk_dec *d, const char *buf, size_t len);
int chunk_done(const struct chunk_dec *d);

/* ------------------------------------------------------------------ */
/* Configuration                                                        */

enum px_mode { MODE_HTTP, MODE_TCP };
enum lb_algo { LB_RR, LB_LEASTCONN, LB_FIRST };
enum http_mode { HTTP_KAL, HTTP_SCL, HTTP_CLO };  /* keep-alive, server-close, close */

/* Timeouts in milliseconds; 0 means unset ("no timeout" as HAProxy). */
enum tmo {
	T_CONNECT, T_CLIENT, T_SERVER, T_TUNNEL, T_HTTP_REQ, T_HTTP_KA,
	T_QUEUE, T_CHECK, T_CLIENT_FIN, T_SERVER_FIN, T_COUNT
};

/* ACLs: a fetch, a match method and a pattern list.  Several lines with
 * one name are ORed; patterns on one line are ORed. */
enum fetch {
	F_HDR, F_PATH, F_URL, F_METHOD, F_SRC, F_SSL_FC, F_CONST, F_HDR_CNT,
	F_REQ_VER
};
enum match { M_STR, M_BEG, M_END, M_SUB, M_DOM, M_DIR, M_REG, M_FOUND,
	M_IP, M_BOOL, M_INT, M_LEN };

struct cidr {
	int		 family;
	unsigned char	 addr[16];
	int		 bits;
};

struct acl_test {
	enum fetch	 fetch;
	enum match	 match;
	int		 icase;
	int		 cval;		/* F_CONST: the constant's truth */
	char		*arg;		/* header name for hdr() */
	int		 npat;
	char		**pat;
	size_t		*patlen;
	regex_t		*re;
	struct cidr	*cidr;
	long long	*ival;		/* M_INT/M_LEN: one value per pattern */
	int		*iop;		/* eq, ge, gt, le, lt */
	struct acl_test	*next;
};

struct acl {
	char		*name;
	struct acl_test	*tests;
	struct acl	*next;
};

/* A condition: terms ANDed within a group, groups ORed. */
struct cond_term {
	struct acl	*acl;
	unsigned char	 neg;
	unsigned char	 or_before;	/* starts a new OR group */
};

struct cond {
	int		 unless;
	int		 nterm;
	struct cond_term *term;
};

struct proxy;

struct switch_rule {
	char		*be_name;
	const char	*file;
	struct proxy	*be;
	struct cond	*cond;		/* NULL: always */
	int		 line;
	struct switch_rule *next;
};

enum hreq_act { HR_DENY, HR_ALLOW, HR_SET_HDR, HR_ADD_HDR, HR_DEL_HDR,
	HR_REDIRECT };
enum redir_type { REDIR_SCHEME, REDIR_LOCATION, REDIR_PREFIX };

struct hreq_rule {
	enum hreq_act	 act;
	int		 status;	/* deny_status / redirect code */
	enum redir_type	 redir;
	int		 drop_query;
	char		*name;		/* header name, redirect target */
	char		*value;
	struct cond	*cond;
	struct hreq_rule *next;
};

/* A certificate chain and its private key, loaded from one PEM file. */
struct tls_cert {
	br_x509_certificate *chain;	/* leaf first, DER blobs owned */
	size_t		 chain_len;
	int		 key_type;	/* BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
	br_rsa_private_key rsa;
	br_ec_private_key ec;
	int		 issuer_key_type; /* signature algorithm on the leaf */
	char		**names;	/* SAN dNSNames, else the CN; lower case */
	int		 nnames;
	char		*path;
	struct tls_cert	*next;
};

int tls_cert_load(const char *path, struct tls_cert *c, char *err, size_t errlen);
int tls_cert_load_dir(const char *dir, struct tls_cert **list, char *err,
    size_t errlen);
void tls_cert_free(struct tls_cert *c);
int tls_cert_match(const struct tls_cert *c, const char *name);
const char *tls_err_name(int err);

#define TLS_SUITES_MAX	24

/* TLS settings of one "bind ... ssl" line. */
struct tls_conf {
	struct tls_cert	*certs;		/* the first is the default */
	uint16_t	 suites[TLS_SUITES_MAX];
	int		 nsuites;
	unsigned	 vmin, vmax;	/* BR_TLS10 .. BR_TLS12 */
	unsigned	 vfloor;	/* from no-tlsv10/no-tlsv11 */
	const char	*alpn[4];
	int		 nalpn;
	int		 strict_sni;
	/* as written, resolved once the whole configuration is read */
	char		*crt[16];
	int		 ncrt;
	char		*ciphers;
	const char	*file;
	int		 line;
};

struct bind_conf {
	struct sockaddr_storage addr;
	socklen_t	 addrlen;
	char		*text;		/* as written, for logs and reload */
	int		 line;
	struct tls_conf	*tls;		/* NULL: plain TCP */
	struct bind_conf *next;
};

/* What a backend's health checks send and expect. */
enum chk_kind { CHK_TCP, CHK_HTTP, CHK_NODEOS, CHK_SHIP };
enum { EXP_NONE, EXP_STATUS, EXP_RSTATUS, EXP_STRING, EXP_RSTRING };

struct chk_conf {
	enum chk_kind	 kind;
	char		*meth, *uri, *ver;	/* HTTP request line */
	char		*hdrs;			/* extra "Name: value\r\n" lines */
	char		*body;
	int		 exp_kind;		/* EXP_* */
	int		 exp_neg;
	char		*exp_str;
	regex_t		*exp_re;
	int		 exp_range[8][2];	/* status ranges for EXP_STATUS */
	int		 nexp_range;
	/* chain-aware checks (waxlb extensions) */
	unsigned	 max_lag_ms;
	unsigned	 stall_ms;
	unsigned	 block_interval_ms;
	char		*ref_be_name;
	struct proxy	*ref_be;
	unsigned char	 chain_id[32];
	int		 has_chain_id;
	int		 probe_blocks;
	const char	*file;
	int		 line;
};

/* Per-server runtime state, kept apart from the parsed configuration so
 * that a reload can hand it to the new server of the same name. */
struct srv_state {
	int		 cur;		/* requests in flight and tunnels */
	int		 smax;
	uint64_t	 stot;
	uint64_t	 bin, bout;
	uint64_t	 econ, eresp;
	int		 up;		/* as the checks see it */
	int		 health;	/* HAProxy's counter, 0..rise+fall-1 */
	unsigned	 chkfail;
	int64_t		 last_change;	/* ms */
	char		 reason[200];
	struct server	*srv;		/* the running config's server */
	unsigned	 gen;		/* config generation that last adopted it */
	int		 admin;		/* runtime API: 0 ready, 1 drain, 2 maint */
	int		 weight_set;	/* runtime API "set server weight" */
	int		 weight;
	int		 checks_off;	/* "disable health" */
	int		 draining;	/* last logged drain state */
	uint64_t	 lbtot;		/* times picked by the balancer */
	struct idle_conn *idle;		/* kept-alive connections, newest first */
	int		 nidle;
	/* what the last chain check saw */
	uint64_t	 chain_head;
	int64_t		 chain_head_ms;	/* head block time (nodeos), Unix ms */
	int64_t		 chain_seen_ms;	/* when chain_head was read (monotonic) */
	int64_t		 chain_adv_ms;	/* when chain_head last advanced */
	int64_t		 lag_blocks;
	uint32_t	 trace_begin, trace_end, cs_begin, cs_end;
	int		 check_ms;	/* duration of the last check */
	/* agent check */
	int		 agent_down;
	int		 agent_admin;	/* AGENT_ADMIN_* from the last reply */
	int		 weight_pct;	/* valid when weight_pct_set (agent "N%") */
	int		 weight_pct_set;
	int		 agent_maxconn;	/* valid when agent_maxconn_set */
	int		 agent_maxconn_set;
	char		 agent_desc[64];
	int64_t		 up_since;	/* for slowstart, monotonic ms */
};

struct server {
	char		*name;
	struct proxy	*be;
	struct sockaddr_storage addr;
	socklen_t	 addrlen;
	char		*addr_text;
	int		 id;		/* position in the backend, from 1 */
	int		 check;
	unsigned	 inter, fastinter, downinter;
	int		 rise, fall;
	int		 weight;	/* user weight 0..256 */
	int		 maxconn;	/* 0: unlimited */
	int		 backup;
	int		 disabled;
	char		*cookie;
	int		 line;
	struct sockaddr_storage chk_addr;	/* where checks connect */
	socklen_t	 chk_addrlen;
	struct sockaddr_storage agent_sa;	/* where agent checks connect */
	socklen_t	 agent_salen;
	int		 agent;
	unsigned	 agent_inter;
	char		*agent_send;
	int		 on_down_kill, on_up_kill_bck;
	unsigned	 slowstart;
	struct srv_state *st;

	/* load-balancing position (HAProxy's FWRR and FWLC) */
	int		 eweight;
	int		 lb_tree;	/* which ordered set holds it */
	unsigned	 lb_key;
	uint64_t	 lb_seq;	/* insertion order among equal keys */
	int		 npos, lpos, rweight;
	int		 prev_usable, prev_eweight;
	struct server	*next_full;

	struct check	*chk;
	struct check	*agent_chk;
	struct server	*next;
};

/* Server options shared by `server` and `default-server`. */
struct srv_defaults {
	int		 check;
	unsigned	 inter, fastinter, downinter;
	int		 rise, fall, weight, maxconn, backup, disabled;
	int		 chk_port;	/* "port": checks go to this port */
	char		*chk_addr;	/* "addr": checks go to this address */
	char		*cookie;
	int		 agent;		/* agent-check */
	int		 agent_port;
	char		*agent_addr;
	unsigned	 agent_inter;
	char		*agent_send;
	int		 on_down_kill;	/* on-marked-down shutdown-sessions */
	int		 on_up_kill_bck; /* on-marked-up shutdown-backup-sessions */
	unsigned	 slowstart;
};

/* FWRR group (active or backup servers). */
struct fwrr_grp {
	int		 curr_pos, curr_weight, next_weight;
	int		 init, next;	/* which of the two sets is which */
};

#define CAP_FE	1
#define CAP_BE	2

#define OPT_FORWARDFOR	0x01
#define OPT_REDISPATCH	0x02
#define OPT_DONTLOGNULL	0x04
#define OPT_HTTPLOG	0x08
#define OPT_TCPLOG	0x10

struct proxy {
	char		*name;
	int		 cap;
	const char	*file;
	int		 line;
	enum px_mode	 mode;
	enum http_mode	 http_mode;
	unsigned	 timeout[T_COUNT];
	unsigned	 options;
	int		 maxconn;	/* frontend */
	int		 retries;

	/* frontend */
	struct bind_conf *binds;
	struct acl	*acls;
	struct switch_rule *rules;
	struct hreq_rule *hreq;
	struct hreq_rule *redirects;	/* "redirect" lines, after http-request */
	char		*default_be_name;
	struct proxy	*default_be;
	int		 default_be_line;
	const char	*default_be_file;

	/* backend */
	struct chk_conf	 chk;
	enum lb_algo	 lb;
	struct server	*srv;
	int		 nsrv;
	struct srv_defaults defsrv;
	struct fwrr_grp	 act, bck;
	int		 srv_act, srv_bck;
	struct server	*fbck;		/* first usable backup */
	uint64_t	 lb_seq;
	int		 tot_wact, tot_wbck;

	/* logging and status */
	int		 log_global;		/* "log global" */
	struct log_target *logs;		/* the proxy's own "log" lines */
	int		 stats_enable;
	char		*stats_uri;
	unsigned	 stats_refresh;
	char		*stats_auth[8];		/* "user:pass" */
	int		 nstats_auth;
	int		 stats_admin;
	struct cond	*prom_cond;		/* use-service prometheus-exporter */
	char		*prom_uri;		/* waxlb: "stats prometheus-uri" */

	/* runtime, kept here for the backend's queue */
	struct pqueue	*queue;

	struct proxy	*next;
};

/* Where log lines go: syslog over UDP or a unix socket (RFC 3164), or
 * stdout/stderr. */
enum log_kind { LOGT_UDP, LOGT_UNIX, LOGT_STDOUT, LOGT_STDERR };

struct log_target {
	enum log_kind	 kind;
	struct sockaddr_storage addr;
	socklen_t	 addrlen;
	int		 facility;	/* 0..23 */
	int		 level;		/* most verbose severity sent, 0..7 */
	int		 maxlen;
	int		 fd;		/* runtime */
	struct log_target *next;
};

enum { ACCESS_USER, ACCESS_OPERATOR, ACCESS_ADMIN };

struct stats_sock_conf {
	char		*path;
	unsigned	 mode;		/* file mode, 0 = default */
	int		 level;		/* ACCESS_* */
	struct stats_sock_conf *next;
};

struct config {
	int		 maxconn;
	int		 daemon;
	char		*pidfile;
	char		*user, *group;
	long		 uid, gid;	/* -1 when unset */
	char		*chroot;
	int		 ulimit_n;
	unsigned	 hard_stop_after;
	struct log_target *logs;
	struct stats_sock_conf *stats_socks;
	unsigned	 stats_timeout;
	char		**files;	/* what was loaded, for reloads */
	int		 nfiles;
	int		 refs;		/* sessions still using it after a reload */
	unsigned	 gen;		/* reload generation */
	struct config	*next_old;	/* configs replaced but still in use */
	int		 bufsize;
	int		 maxrewrite;
	int		 ssl_cachesize;	/* sessions kept for resumption */
	char		*crt_base;
	char		*ssl_ciphers;	/* ssl-default-bind-ciphers */
	unsigned	 ssl_vmin;	/* ssl-default-bind-options ssl-min-ver */
	unsigned	 ssl_vfloor;	/* ... no-tlsv10 / no-tlsv11 */
	int		 debug;
	struct proxy	*proxies;
	/* everything allocated while parsing, freed together */
	void		*arena;
};

/* Load configuration files.  Errors and warnings are printed to <err> as
 * "file:line: message"; returns NULL after the whole input has been read
 * if any error was found. */
struct config *config_load(const char *const *files, int nfiles, FILE *err);
/* The same from a string (tests and fuzzers). */
struct config *config_parse_string(const char *text, const char *name, FILE *err);
void config_free(struct config *c);
struct proxy *config_find_proxy(struct config *c, const char *name, int cap);

/* ------------------------------------------------------------------ */
/* ACL evaluation                                                       */

/* What fetches can see of a request. */
struct req_ctx {
	const struct http_msg	*msg;		/* NULL in TCP mode */
	const struct sockaddr_storage *src;
	int			 ssl;
};

int acl_exec(const struct acl *a, const struct req_ctx *ctx);
int cond_exec(const struct cond *c, const struct req_ctx *ctx);

/* ------------------------------------------------------------------ */
/* Server selection                                                     */

/* Recompute the load-balancing sets after config load or after a
 * server's usable state or weight changed. */
void lb_init(struct proxy *be);
void lb_update(struct server *s);
/* Pick a server for a new request; NULL when none is usable or all are
 * full.  <avoid> is skipped when another one is possible. */
struct server *lb_pick(struct proxy *be, struct server *avoid);
/* Tell the balancer a server's in-flight count changed (leastconn). */
void lb_taken(struct server *s);
void lb_released(struct server *s);
int srv_usable(const struct server *s);

/* ------------------------------------------------------------------ */
/* Health-check protocols (pure: nodeos get_info, SHIP, websocket, agent) */

/* ---- health-check protocols (begin) ---- */
/* nodeos GET /v1/chain/get_info answer */
struct nodeos_info {
	uint64_t	 head;			/* head_block_num */
	uint64_t	 lib;			/* last_irreversible_block_num */
	int64_t		 head_time_ms;		/* head_block_time as Unix ms (UTC) */
	char		 chain_id[65];		/* lower-case hex, "" if absent */
	char		 server_version[32];	/* truncated, "" if absent */
};
/*
 * Parse the JSON body of get_info.  Returns 0, or -1 with a short reason in
 * *why.  Only top-level keys are looked at; numbers may be JSON numbers or
 * JSON strings of digits; duplicate top-level keys are rejected.
 */
int	nodeos_info_parse(const char *json, size_t len, struct nodeos_info *out,
	    const char **why);

/* SHIP get_status_result_v0 (binary message from the node, variant index 0 first). */
struct ship_status {
	uint32_t	 head, lib;
	unsigned char	 head_id[32], lib_id[32];
	uint32_t	 trace_begin, trace_end, chain_state_begin, chain_state_end;
	int		 has_chain_id;
	unsigned char	 chain_id[32];
};
/* len >= 89 (EOSIO 2.0); chain_id read only when len >= 121; extra bytes ignored. */
int	ship_status_parse(const unsigned char *p, size_t len,
	    struct ship_status *out, const char **why);
/* get_blocks_result_v0: whether this_block is present and its number. */
int	ship_blocks_parse(const unsigned char *p, size_t len, int *has_this,
	    uint32_t *this_num, const char **why);

/* Complete masked client frames (binary, FIN); bytes written or -1. */
int	ship_frame_status_req(unsigned char *out, size_t cap,
	    const unsigned char mask[4]);
int	ship_frame_blocks_req(unsigned char *out, size_t cap,
	    const unsigned char mask[4], uint32_t start, uint32_t end,
	    uint32_t max_in_flight);

/* Client websocket handshake: NUL-terminated request, length without the NUL, or -1. */
int	ws_build_upgrade(char *out, size_t cap, const char *host,
	    const char *path, const unsigned char key16[16]);
/* >0 head length, 0 need more, -1 bad (*why). */
int	ws_check_upgrade(const char *buf, size_t len,
	    const unsigned char key16[16], const char **why);

#define WS_HEAD_MAX_BYTES	8192	/* a 101 head larger than this is refused */
#define WS_CTL_MAX_BYTES	125	/* RFC 6455 5.5 */

/*
 * Incremental reader of server->client frames.  Public fields (read only,
 * for the caller):
 *   msg_opcode, msg_len, kept   valid after WS_MSG_DONE until the next data
 *                               message's first frame is fed; keep_buf[0..kept)
 *                               holds the message's first bytes
 *   ctl_opcode, ctl_len,        valid after WS_CONTROL until the next
 *   ctl_payload                 control frame is fed
 * Everything under "private" belongs to ws_reader_feed.
 */
struct ws_reader {
	/* set by ws_reader_init */
	unsigned char	*keep_buf;
	size_t		 keep;
	uint64_t	 max_msg;

	/* public: the current or last data message */
	int		 msg_opcode;	/* 1 text, 2 binary */
	uint64_t	 msg_len;	/* payload bytes seen so far / in total */
	size_t		 kept;		/* bytes copied to keep_buf (<= keep) */

	/* public: the current or last control frame */
	int		 ctl_opcode;	/* 8 close, 9 ping, 10 pong */
	size_t		 ctl_len;	/* 0..125 */
	unsigned char	 ctl_payload[WS_CTL_MAX_BYTES];

	/* private */
	uint64_t	 frame_left;	/* payload bytes still due in this frame */
	const char	*fail_why;	/* sticky: set once a violation is seen */
	unsigned char	 hdr[10];	/* server frames carry no mask: 2+8 max */
	unsigned char	 hdr_have;
	unsigned char	 hdr_need;
	unsigned char	 frame_op;
	unsigned char	 frame_fin;
	unsigned char	 in_payload;	/* header done, payload bytes flowing */
	unsigned char	 in_msg;	/* data message started, FIN not yet seen */
};
enum { WS_MORE = 0, WS_MSG_DONE = 1, WS_CONTROL = 2, WS_ERROR = -1 };
enum {
	WS_OP_CONT = 0x0, WS_OP_TEXT = 0x1, WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8, WS_OP_PING = 0x9, WS_OP_PONG = 0xa
};
void	ws_reader_init(struct ws_reader *r, unsigned char *keep_buf,
	    size_t keep, uint64_t max_msg);
long	ws_reader_feed(struct ws_reader *r, const unsigned char *p, size_t len,
	    int *ev, const char **why);

/* HAProxy agent-check reply line. */
enum { AGENT_NONE, AGENT_UP, AGENT_DOWN, AGENT_FAIL, AGENT_STOPPED };
enum { AGENT_ADMIN_NONE, AGENT_ADMIN_DRAIN, AGENT_ADMIN_MAINT,
	AGENT_ADMIN_READY };
struct agent_reply {
	int	 state;		/* AGENT_NONE, AGENT_UP, AGENT_DOWN, AGENT_FAIL, AGENT_STOPPED */
	int	 admin;		/* AGENT_ADMIN_NONE, _DRAIN, _MAINT, _READY */
	int	 weight_pct;	/* -1 if absent */
	int	 maxconn;	/* -1 if absent */
	char	 desc[64];
};
int	agent_reply_parse(const char *line, size_t len, struct agent_reply *out);

/* base64 (standard alphabet, padded), NUL-terminated; length or -1. */
int	b64_encode(const unsigned char *in, size_t len, char *out, size_t cap);
/* ---- health-check protocols (end) ---- */

/* The program itself (main() calls it). */
int waxlb_main(int argc, char **argv);

#endif /* WAXLB_H */
