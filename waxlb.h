/*
 * waxlb.h - what waxlb.c shows its unit tests and fuzzers.
 *
 * The sections follow waxlb.c's modules, in the same order and with the
 * same name prefixes.  Declared here: the configuration types (read by the
 * tests), the pure parsers and builders (HTTP/1, websocket, SHIP, nodeos
 * get_info, agent replies, certificates, OpenSSL cipher lists), ACL and
 * rule evaluation, server selection and the server-state constructor.
 * None of these touch a socket; the clock is only read by the balancer's
 * slowstart.  Everything else in waxlb.c is static.
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
#define CHUNK_CANON_MAX		16	/* a canonical chunk-size line: 13 hex
					 * digits and CRLF, rounded up */
#define TRAILER_MAX		16384	/* all trailer lines of one message */
#define POOL_PER_SRV		64	/* idle server connections (pool-max-conn) */
#define POOL_IDLE_MS		2000	/* their idle age limit (pool-purge-delay) */

/* ================================================================== */
/* util                                                                 */

/* Parse an HAProxy time ("150", "10s", "2m", "500us").  A bare number is
 * milliseconds; microseconds round up to a whole millisecond.  Returns 0
 * and sets *ms, or -1 on a malformed or overflowing value. */
int	u_parse_time(const char *s, unsigned *ms);

/* base64 (standard alphabet, padded), NUL-terminated; length or -1. */
int	u_b64_encode(const unsigned char *in, size_t len, char *out, size_t cap);
/* The reverse, NUL-terminated; length or -1 on a bad character or no room. */
int	u_b64_decode(const char *in, size_t len, char *out, size_t cap);

/* ================================================================== */
/* h1: HTTP/1.x messages                                                */

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
	int		 nfree;		/* of them, "Connection: close|keep-alive"
					 * ones, which tune.http.maxhdr leaves out
					 * as HAProxy drops them */
	int		 err;		/* status to answer when parse fails */
	const char	*err_what;	/* short reason, for the log */
	struct http_hdr	 hdr[HDR_MAX];
};

/* Parse a request (or response) head in buf[0..len).  Pure: no I/O, no
 * allocation; header views point into buf.  Returns the length of the
 * head (through the empty line) when complete, 0 when more bytes are
 * needed, -1 when malformed (m->err holds 400/414/431/501/505). */
int	h1_parse_request(const char *buf, size_t len, struct http_msg *m);
int	h1_parse_response(const char *buf, size_t len, struct http_msg *m);

/* Find header <name> (case-insensitive); returns its index or -1,
 * starting the search at index <from>. */
int	h1_find_hdr(const struct http_msg *m, const char *name, int from);

/* Resumable framing of a chunked body: tells where the message ends.
 * Chunk sizes are below 2^52 (HAProxy's limit), leading zeros allowed. */
struct chunk_dec {
	uint64_t	 left;		/* data bytes left in this chunk */
	unsigned	 state;
	unsigned	 line;		/* bytes of the current size line */
	unsigned	 trailers;	/* bytes of trailers seen */
};

/* Consume up to len bytes.  Returns the number of bytes that belong to
 * the message (stopping right after its end), or -1 if the framing is
 * malformed.  h1_chunk_done() is true once the terminating CRLF is seen. */
long	h1_chunk_feed(struct chunk_dec *d, const char *buf, size_t len);
int	h1_chunk_done(const struct chunk_dec *d);
/* The same framing, rewriting buf[0..len) in place as it goes out: every
 * chunk-size line becomes what HAProxy 2.6 emits (upper-case hex without
 * leading zeros, no extension, CRLF); data and trailers are kept.  A
 * size line is taken only whole: an incomplete one at the end is left
 * unconsumed (but refused at once when what came is already malformed).
 * Returns the input bytes consumed (-1: malformed); buf[0..*olen) then
 * holds them rewritten (*olen <= the return value).  The caller moves
 * the unconsumed rest down to buf + *olen. */
long	h1_chunk_canon(struct chunk_dec *d, char *buf, size_t len, size_t *olen);

/* HAProxy's error answer for <status> (head and HTML body) into out;
 * returns its length as snprintf() does. */
int	h1_error_page(int status, int keepalive, char *out, size_t len);
/* The reason HAProxy writes in a reply it builds (http_get_reason()). */
const char *h1_gen_reason(int status);

/* The statuses an error page can be configured for (HAProxy's 19
 * http_err_codes), each in a slot 0..H1_ERR_CODES-1. */
#define H1_ERR_CODES	19
int	h1_err_slot(int status);	/* -1: not one of them */
int	h1_err_status(int slot);

/* A configured error page, made once at load: the status line and the
 * headers (each CRLF-terminated, names in lower case, no Connection,
 * Keep-Alive or Proxy-Connection: the session writes its own), then the
 * body. */
struct h1_page {
	const char	*data;
	unsigned	 head_len;	/* data[0..head_len): the head, no empty line */
	unsigned	 body_len;	/* data[head_len..): the body */
	int		 status;	/* of the status line: what is logged */
	unsigned char	 empty;		/* an empty file: nothing is sent, close */
	unsigned char	 close;		/* Connection: close, or a body with no length */
	unsigned char	 v10;		/* an HTTP/1.0 status line */
	unsigned char	 whole;		/* a whole response (errorfile, errorloc), as
					 * opposed to one built by http-error */
};
/* Check a whole HTTP response raw[0..len) as HAProxy checks an errorfile
 * (a final status, no chunked body, a body that matches its length) and
 * lay it out in out[0..cap) (2 * len + 2 is always enough).  An empty
 * input is an empty page.  0, or -1 with the reason in *why. */
int	h1_page_parse(const char *raw, size_t len, char *out, size_t cap,
	    struct h1_page *pg, const char **why);
/* The bytes of <pg> as sent, with <conn> (H1_CONN_NONE, _CLOSE or _KA)
 * and without the body for a HEAD; its length, or -1 when out is small. */
int	h1_page_write(const struct h1_page *pg, int conn, int head_only,
	    char *out, size_t cap);

/* Header operations of rules (add-header, set-header). */
enum { H1_HDR_SET, H1_HDR_ADD };

/* What a head builder changes while copying a request head. */
struct h1_req_edit {
	int		 conn;		/* H1_CONN_*: the Connection header to write */
};
enum { H1_CONN_NONE, H1_CONN_CLOSE, H1_CONN_KA, H1_CONN_UPGRADE };

/* Copy a parsed request head into out with hop-by-hop headers and the
 * framing rewritten (one Content-Length, Transfer-Encoding normalised);
 * returns its length or -1 when out is too small. */
int	h1_build_req_head(char *out, size_t cap, const struct http_msg *m,
	    const struct h1_req_edit *ed);
/* Copy a parsed response head with <line> as its status line, dropping
 * Connection and Keep-Alive (but for a 101) and writing <conn>. */
int	h1_build_rsp_head(char *out, size_t cap, const struct http_msg *m,
	    const char *line, size_t linelen, int conn);

/* ================================================================== */
/* chain: nodeos GET /v1/chain/get_info                                 */

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
int	chain_nodeos_info_parse(const char *json, size_t len,
	    struct nodeos_info *out, const char **why);

/* ================================================================== */
/* ws: websocket handshake and frames                                   */

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

/* ================================================================== */
/* ship: State-History binary messages                                  */

/* get_status_result_v0 (binary message from the node, variant index 0 first). */
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

/* ================================================================== */
/* crt: certificates                                                    */

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

int	crt_load(const char *path, struct tls_cert *c, char *err, size_t errlen);
/* The same from a PEM buffer (modified in place: CRs are removed). */
int	crt_load_mem(const char *name, unsigned char *pem, size_t len,
	    struct tls_cert *c, char *err, size_t errlen);
int	crt_load_dir(const char *dir, struct tls_cert **list, char *err,
	    size_t errlen);
void	crt_free(struct tls_cert *c);
int	crt_match(const struct tls_cert *c, const char *name);
const char *crt_err_name(int err);

/* ================================================================== */
/* auth: userlists and basic authentication                             */

struct ulist_user {
	char		*name;
	char		*pass;		/* a crypt(3) hash, or the password */
	int		 insecure;	/* "insecure-password" */
	char		**groups;
	int		 ngroups;
	struct ulist_user *next;
};

struct userlist {
	char		*name;
	struct ulist_user *users;
	const char	*file;
	int		 line;
	struct userlist	*next;
};

/* How many password hashes were computed (the cache keeps the others). */
uint64_t auth_hash_count(void);

/* ================================================================== */
/* pat: patterns and match methods                                      */

enum match { M_STR, M_BEG, M_END, M_SUB, M_DOM, M_DIR, M_REG, M_FOUND,
	M_IP, M_BOOL, M_INT, M_LEN };

struct cidr {
	int		 family;
	unsigned char	 addr[16];
	int		 bits;
};

/* ================================================================== */
/* smp: sample expressions                                              */

#define CAPTURES_MAX	16	/* "capture"/"declare capture" slots per side */

/* Captured header values of one transaction (NULL: not captured). */
struct smp_caps {
	char		*req[CAPTURES_MAX];
	char		*res[CAPTURES_MAX];
};

struct smp_vars;
struct smp_expr;
struct smp_fixup;
struct proxy;
struct server;

/* What fetches can see of a transaction.  Zero it, then set what is
 * known: cli_fd -1 when there is no client socket. */
struct smp_ctx {
	const struct http_msg	*msg;	/* the request; NULL in TCP mode */
	const struct sockaddr_storage *src;
	int			 ssl;
	const struct http_msg	*rsp;	/* the response, once there is one */
	const struct sockaddr_storage *dst;	/* NULL: asked of cli_fd */
	int			 cli_fd;
	const struct proxy	*fe, *be;
	const struct server	*sv;
	const char		*sni, *ssl_proto, *ssl_cipher;
	int			 ssl_resumed;
	int			 status;	/* of an answer made here */
	struct smp_vars		*vars;	/* txn variables; NULL: none */
	const char		*uid;	/* unique-id */
	const struct smp_caps	*caps;
};

/* ================================================================== */
/* acl: ACLs and conditions                                             */

/* An ACL line: a sample expression, a match method and patterns.  Several
 * lines with one name are ORed; patterns on one line are ORed. */
struct pat;
struct acl_test {
	struct smp_expr	*expr;
	enum match	 match;
	int		 icase;
	int		 npat;
	struct pat	*pat;
	int		 group;		/* http_auth_group: patterns are groups */
	struct acl_test	*next;
};

struct acl {
	char		*name;
	struct acl_test	*tests;
	unsigned	 use;		/* SMP_USE_* of its fetches */
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
	unsigned	 use;		/* SMP_USE_* of its fetches */
	struct cond_term *term;
};

int	acl_exec(const struct acl *a, const struct smp_ctx *ctx);
int	acl_cond_exec(const struct cond *c, const struct smp_ctx *ctx);

/* ================================================================== */
/* lf: log-format strings                                               */

struct lf;

/* Parse <fmt> (a log line's format when <log>, else a header value's)
 * and render it for <c> into out[0..cap), NUL-terminated; returns the
 * length, or -1 after a message on <err> (tests and fuzzers). */
int	lf_test(const char *fmt, int log, const struct smp_ctx *c, char *out,
	    size_t cap, FILE *err);

/* ================================================================== */
/* rule: http-request, http-response, tcp-request rules and routing     */

/* Which rule set a rule belongs to (what it may see and do). */
enum rule_set { RS_HREQ, RS_HRSP, RS_HAFTER, RS_TCP_CONN, RS_TCP_CONT,
	RS_COUNT };

/* An answer a rule makes (deny, tarpit, return): HAProxy's http-reply. */
enum { REPLY_EMPTY, REPLY_ERRFILES, REPLY_RAW, REPLY_BODY };
#define REPLY_HDRS_MAX	8

struct rule_reply {
	int		 kind;		/* REPLY_* */
	int		 status;
	char		*ctype;
	char		*text;		/* REPLY_BODY: string, file */
	size_t		 textlen;
	struct lf	*body;		/* REPLY_BODY: lf-string, lf-file */
	const struct h1_page *page;	/* REPLY_RAW: an errorfile */
	char		*errfiles;	/* REPLY_ERRFILES: an http-errors name */
	char		*hdr_name[REPLY_HDRS_MAX];
	struct lf	*hdr_fmt[REPLY_HDRS_MAX];
	int		 nhdr;
};

struct rule_act_kw;

struct rule {
	const struct rule_act_kw *kw;
	int		 status;	/* answer status, redirect code, set-status,
					 * log level, strict-mode */
	int		 redir;		/* REDIR_* */
	int		 drop_query;	/* 1: drop-query, 2: append-slash */
	char		*name;		/* header, variable (with scope), realm */
	enum match	 match;		/* del-header -m */
	struct lf	*fmt;		/* the value (a log-format string) */
	regex_t		*re;		/* replace-*, del-header -m reg */
	struct smp_expr	*expr;		/* set-var, capture */
	char		*reason;	/* set-status */
	int		 slot, len;	/* capture */
	int		 scope;		/* set-var */
	struct rule_reply *reply;	/* deny, tarpit, return */
	struct cond	*cond;
	const char	*file;
	int		 line;
	struct rule	*next;
};
enum redir_type { REDIR_SCHEME, REDIR_LOCATION, REDIR_PREFIX };

/* What the request rules decided. */
enum { ANS_NONE, ANS_DENY, ANS_REDIRECT, ANS_AUTH, ANS_REJECT, ANS_SERVICE,
	ANS_TARPIT, ANS_RETURN, ANS_ERROR };
#define ROUTE_SOFT_RW		0x01	/* strict-mode off */
#define ROUTE_NO_L7_RETRY	0x02	/* disable-l7-retry */

struct route {
	struct proxy		*be;		/* NULL: answered here */
	int			 answer;	/* ANS_* */
	int			 status;
	const struct rule	*rule;		/* the rule that answered */
	char			*location;	/* ANS_REDIRECT, in the scratch */
	unsigned		 flags;		/* ROUTE_* */
	int			 log_level;	/* set-log-level + 1; 0: unchanged */
};

/* A message the rules edit in place: headers are taken out of and added
 * to m->hdr, the target and method may point elsewhere; new bytes go to
 * the scratch area.  The caller rebuilds the head from m. */
struct rule_msg {
	struct http_msg	*m;
	char		*scratch;
	size_t		 used, cap;
	int		 status;	/* set-status: the new status, or 0 */
	const char	*reason;
	int		 edits;		/* changes made: the head is rebuilt */
};

/* ================================================================== */
/* ciph: OpenSSL cipher lists                                           */

#define CIPH_COUNT	155	/* the suites OpenSSL 3.0 knows below TLS 1.3 */
#define CIPH_BEAR_MAX	20	/* those of them waxlb runs with BearSSL */
#define CIPH_SECLEVEL	2	/* Debian's OpenSSL default security level */

/* What a cipher list selects: OpenSSL's whole choice as indexes into the
 * suite table, in its order (what `openssl ciphers` prints below the TLS
 * 1.3 suites), and the part of it BearSSL runs that the security level
 * allows, in the same order. */
struct ciph_sel {
	unsigned char	 all[CIPH_COUNT];
	unsigned char	 named[CIPH_COUNT];	/* all[i] was written in full */
	int		 nall;
	unsigned char	 bear[CIPH_BEAR_MAX];
	int		 nbear;
	int		 seclevel;	/* @SECLEVEL=n, else CIPH_SECLEVEL */
	char		 warn[256];	/* unknown words, named suites BearSSL lacks */
	char		 err[256];	/* why nothing is usable */
};

/* Evaluate an OpenSSL cipher list as OpenSSL 3.0 does.  Returns -1 when
 * OpenSSL refuses it (a character or command it does not know, or no
 * suite selected), else out->nbear: 0 when BearSSL can use none of it.
 * out->err says why in both cases; out->warn is "" or a note worth a
 * warning. */
int	ciph_select(const char *list, struct ciph_sel *out);
/* The OpenSSL name of suite <i> of the table, into buf. */
const char *ciph_name(int i, char *buf, size_t len);
/* Its IANA id, which is BearSSL's id for the suites BearSSL runs. */
unsigned ciph_id(int i);
/* 1 when waxlb runs suite <i> with BearSSL. */
int	ciph_bear(int i);
/* The OpenSSL name of BearSSL suite <id> (an IANA id), NULL if none. */
const char *ciph_id_name(unsigned id);
/* A curve list ("X25519:P-256") as OpenSSL reads it: BearSSL's curves
 * (TLS ids: 29 X25519, 23 P-256, 24 P-384, 25 P-521) in its order. */
struct ciph_curves {
	unsigned char	 ids[4];
	int		 n;
	char		 warn[96];	/* curves OpenSSL knows, BearSSL lacks */
	char		 err[96];
};
/* n (> 0), or -1 with out->err when OpenSSL refuses the list or none of
 * its curves is BearSSL's. */
int	ciph_curves(const char *list, struct ciph_curves *out);
/* A TLS 1.3 ciphersuites list ("TLS_AES_128_GCM_SHA256:..."), checked
 * loosely: -1 and the first bad name in bad[] when a name is not TLS_*. */
int	ciph_suites13(const char *list, char *bad, size_t len);

/* ================================================================== */
/* lb: server selection                                                 */

/* A server's place in its backend's balancer (HAProxy's FWRR and FWLC).
 * One per server of each config (in its backend's struct be_state), not
 * carried over a reload: sessions still on an older config balance over
 * that config's own sets, which the newer one's lb_init must not reset. */
struct lb_node {
	int		 eweight;	/* effective weight, scaled */
	int		 tree;		/* which ordered set holds it */
	unsigned	 key;
	uint64_t	 seq;		/* insertion order among equal keys */
	int		 npos, lpos, rweight;
	int		 prev_usable, prev_eweight;
	struct server	*next_full;
};

/* FWRR group (active or backup servers). */
struct fwrr_grp {
	int		 curr_pos, curr_weight, next_weight;
	int		 init, next;	/* which of the two sets is which */
};

struct server;
struct proxy;

/* A balancing algorithm (HAProxy's lb_ops).  The table lb_algos[] is what
 * "balance" accepts. */
struct lb_ops {
	const char	*name;
	void		(*init)(struct proxy *be);
	void		(*update)(struct server *s);
	struct server	*(*pick)(struct proxy *be, struct server *avoid);
	void		(*taken)(struct server *s);	/* in-flight count grew */
	void		(*released)(struct server *s);	/* ...or fell */
};

/* Recompute the load-balancing sets after config load or after a
 * server's usable state or weight changed. */
void	lb_init(struct proxy *be);
void	lb_update(struct server *s);
/* Pick a server for a new request; NULL when none is usable or all are
 * full.  <avoid> is skipped when another one is possible. */
struct server *lb_pick(struct proxy *be, struct server *avoid);
/* Tell the balancer a server's in-flight count changed (leastconn). */
void	lb_taken(struct server *s);
void	lb_released(struct server *s);
int	lb_usable(const struct server *s);
/* The effective weight in the user's scale (0..256), as the stats show it. */
int	lb_weight(const struct server *s);

/* ================================================================== */
/* cfg: the configuration                                               */

enum px_mode { MODE_HTTP, MODE_TCP };
enum http_mode { HTTP_KAL, HTTP_SCL, HTTP_CLO };  /* keep-alive, server-close, close */

/* Timeouts in milliseconds; 0 means unset ("no timeout" as HAProxy). */
enum tmo {
	T_CONNECT, T_CLIENT, T_SERVER, T_TUNNEL, T_HTTP_REQ, T_HTTP_KA,
	T_QUEUE, T_CHECK, T_CLIENT_FIN, T_SERVER_FIN, T_TARPIT, T_COUNT
};

struct switch_rule {
	char		*be_name;
	const char	*file;
	struct proxy	*be;
	struct lf	*fmt;		/* a name made at run time ("%[...]") */
	struct cond	*cond;		/* NULL: always */
	int		 line;
	struct switch_rule *next;
};

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
	int		 prefer_client;	/* prefer-client-ciphers */
	int		 seclevel;	/* of the cipher list */
	unsigned	 lifetime;	/* tune.ssl.lifetime, seconds */
	struct ciph_curves curves;	/* ECDHE curves in preference order */
	br_ec_impl	 ec;		/* BearSSL's, limited to those curves */
	/* as written, resolved once the whole configuration is read */
	struct ciph_curves ecdhe;	/* "ecdhe": only without "curves" */
	char		*crt[16];
	int		 ncrt;
	char		*ciphers;
	const char	*file;
	int		 line;
};

/* What a listening socket is set up with (bind options); zero: the
 * kernel's defaults. */
struct net_lopts {
	int		 v6only;	/* -1: the system's default, 0: v4v6, 1: v6only */
	int		 transparent;	/* IP_TRANSPARENT */
	int		 defer_accept;	/* TCP_DEFER_ACCEPT */
	int		 tfo;		/* TCP_FASTOPEN */
	int		 mss;		/* TCP_MAXSEG; < 0: accepted ones reduced by */
	int		 backlog;	/* listen(); 0: the frontend's */
	char		*iface;		/* SO_BINDTODEVICE */
};

struct bind_conf {
	struct sockaddr_storage addr;
	socklen_t	 addrlen;
	char		*text;		/* as written, for logs and reload */
	int		 line;
	struct tls_conf	*tls;		/* NULL: plain TCP */
	struct net_lopts lo;
	int		 maxconn;	/* per socket; 0: the frontend's */
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
	/* http-check disable-on-404, send-state, connect [port N] [addr A] */
	int		 disable404, send_state;
	char		*comment;		/* http-check comment */
	int		 conn_port, nconnect;
	char		*conn_addr;
	const char	*conn_file;
	int		 conn_line;
	const char	*file;
	int		 line;
};

struct srv_state;
struct be_state;

struct server {
	char		*name;
	struct proxy	*be;
	struct sockaddr_storage addr;
	socklen_t	 addrlen;
	char		*addr_text;
	int		 id;		/* position in the backend, from 1 */
	int		 puid;		/* "id", else the next free one (stats) */
	int		 puid_set;
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
	int		 pool_max;	/* pool-max-conn; -1: no bound but the global one */
	unsigned	 pool_purge;	/* pool-purge-delay: idle age limit, ms */
	int		 max_reuse;	/* max-reuse; -1: no limit */
	char		*redir;		/* redir: 302 prefix for GET and HEAD */
	/* the one link to runtime: set once when the config is activated
	 * (srv_bind), owned by the srv module */
	struct srv_state *st;
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
	char		*resolvers;	/* refused with a host name */
	int		 puid;		/* "id" (server lines only) */
	int		 pool_max, max_reuse;	/* valid when ..._set */
	int		 pool_max_set, max_reuse_set;
	unsigned	 pool_purge;
	int		 pool_purge_set;
	char		*redir;
	char		*init_addr;	/* as written; NULL: libc */
};

/* An error page of the configuration (errorfile, errorloc, http-error,
 * http-errors), with where it was declared; errorfiles are read once per
 * path. */
struct err_page {
	struct h1_page	 pg;
	char		*path;		/* the file read, NULL for a built page */
	const char	*file;
	int		 line;
	struct err_page	*next;
};

/* A "http-errors NAME" section: a page per status slot. */
struct http_errors {
	char		*name;
	const char	*file;
	int		 line;
	const struct h1_page *pg[H1_ERR_CODES];
	struct http_errors *next;
};

/* One error-page directive of a proxy, in order (a defaults section's come
 * first): applied once every http-errors section is known. */
enum { ERRC_PAGE, ERRC_RESET, ERRC_SECTION };
struct err_conf {
	int		 kind;		/* ERRC_* */
	int		 slot;		/* ERRC_PAGE, ERRC_RESET */
	const struct h1_page *pg;	/* ERRC_PAGE */
	char		*section;	/* ERRC_SECTION: its name... */
	unsigned	 slots;		/* ...the slots taken from it (a bit each) */
	int		 listed;	/* ...named on the line: warn when missing */
	const char	*file;
	int		 line;
	struct err_conf	*next;
};

#define CAP_FE	1
#define CAP_BE	2

/* What transactions need to keep (struct config.needs). */
#define NEED_EXT	0x01	/* the transaction extension at all */
#define NEED_REQ	0x02	/* the request head, for the response's rules or
				 * the log line */
#define NEED_VARS	0x04	/* variables */

#define OPT_FORWARDFOR	0x01
#define OPT_REDISPATCH	0x02
#define OPT_DONTLOGNULL	0x04
#define OPT_DONTLOGNORMAL 0x08
#define OPT_LOGSEPERR	0x10
#define OPT_IGNORE_PROBES 0x20	/* option http-ignore-probes */
#define OPT_ALLBACKUPS	0x40	/* option allbackups */
#define OPT_ABORTONCLOSE 0x80	/* option abortonclose */
#define OPT_LOGASAP	0x100	/* option logasap */
#define OPT_PRETEND_KA	0x200	/* option http-pretend-keepalive */
#define OPT_ORIGINALTO	0x400	/* option originalto */
#define OPT_FF_IFNONE	0x800	/* option forwardfor if-none */
#define OPT_LOGHCHKS	0x40000	/* option log-health-checks */

/* stats hide-version, show-node, show-desc, show-legends */
#define STF_HIDEVER	0x01
#define STF_SHNODE	0x02
#define STF_SHDESC	0x04
#define STF_LEGENDS	0x08
#define OPT_CLITCPKA	0x1000	/* option clitcpka (tcpka) */
#define OPT_SRVTCPKA	0x2000	/* option srvtcpka (tcpka) */
#define OPT_NOLINGER	0x4000	/* option nolinger */
#define OPT_IDLE_CLOSE_RSP 0x8000 /* option idle-close-on-response */
#define OPT_PREFER_LAST	0x10000	/* option prefer-last-server */

/* retry-on: when a request is tried again (HAProxy's PR_RE_*).  Anything
 * but RE_CONN replays the request, which must then fit in the buffer. */
#define RE_CONN		0x0001	/* conn-failure (the default) */
#define RE_EMPTY	0x0002	/* empty-response */
#define RE_TIMEOUT	0x0004	/* response-timeout */
#define RE_JUNK		0x0008	/* junk-response */
#define RE_0RTT		0x0010	/* 0rtt-rejected (no TLS to servers: never) */
#define RE_401		0x0020
#define RE_403		0x0040
#define RE_404		0x0080
#define RE_408		0x0100
#define RE_425		0x0200
#define RE_500		0x0400
#define RE_501		0x0800
#define RE_502		0x1000
#define RE_503		0x2000
#define RE_504		0x4000
#define RE_L7		(~(unsigned)RE_CONN)	/* the ones that replay */

enum { HDRN_PRESERVE, HDRN_DELETE, HDRN_REJECT };

/* http-reuse: which idle server connections a request may take. */
enum http_reuse { REUSE_NEVER, REUSE_SAFE, REUSE_AGGRESSIVE, REUSE_ALWAYS };

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
	unsigned	 retry_on;	/* RE_* */
	enum http_reuse	 reuse;
	/* clitcpka-* [0], srvtcpka-* [1]: TCP_KEEPCNT, TCP_KEEPIDLE and
	 * TCP_KEEPINTVL (s); 0: the kernel's */
	int		 tcpka_cnt[2], tcpka_idle[2], tcpka_intvl[2];
	int		 hdr_names;	/* http-restrict-req-hdr-names: HDRN_* */

	/* frontend */
	int		 backlog;	/* "backlog"; 0: maxconn */
	int		 rate_sess;	/* rate-limit sessions; 0: none */
	struct bind_conf *binds;
	struct acl	*acls;
	struct switch_rule *rules;
	struct rule	*hreq;		/* http-request */
	struct rule	*hrsp;		/* http-response */
	struct rule	*hafter;	/* http-after-response */
	struct rule	*redirects;	/* "redirect" lines, after http-request */
	struct rule	*rules_tcp[2];	/* tcp-request connection, content */
	unsigned	 inspect_delay;	/* tcp-request inspect-delay, ms */
	/* captures: "capture request|response header", "declare capture",
	 * "http-request capture ... len" take slots in order */
	int		 ncap_req, ncap_res;
	int		 cap_req_len[CAPTURES_MAX], cap_res_len[CAPTURES_MAX];
	char		*cap_req_hdr[CAPTURES_MAX], *cap_res_hdr[CAPTURES_MAX];
	/* logs and ids: log-format strings */
	struct lf	*logfmt;	/* NULL: HAProxy's "Connect from" line */
	char		*logfmt_src;	/* as written, for defaults */
	const char	*logfmt_file;
	int		 logfmt_line;
	struct lf	*sdfmt;		/* log-format-sd (rfc5424 targets) */
	char		*sd_src;
	const char	*sd_file;
	int		 sd_line;
	struct lf	*uid_fmt;	/* unique-id-format */
	struct lf	*errlogfmt;	/* error-log-format (TLS handshakes) */
	char		*errlog_src;
	const char	*errlog_file;
	int		 errlog_line;
	char		*uid_src;
	const char	*uid_file;
	int		 uid_line;
	char		*uid_hdr;	/* unique-id-header */
	/* option forwardfor [0] and originalto [1]: header name (NULL: the
	 * default), the network they are not added for */
	char		*fwd_name[2];
	struct cidr	 fwd_except[2];
	unsigned char	 fwd_has_except[2];
	char		*log_tag;	/* "log-tag"; NULL: the global one */
	/* a stick-table: nothing tracks into it (track-sc and the sc_*
	 * fetches are refused), but the metrics show it, as HAProxy's */
	const char	*stick_type;
	long long	 stick_size;
	char		*default_be_name;
	struct proxy	*default_be;
	int		 default_be_line;
	const char	*default_be_file;

	/* backend */
	struct chk_conf	 chk;
	const struct lb_ops *lb;	/* an entry of lb_algos[] */
	struct server	*srv;
	int		 nsrv;
	struct srv_defaults defsrv;

	/* logging and status */
	int		 log_global;		/* "log global" */
	struct log_target *logs;		/* the proxy's own "log" lines */
	int		 stats_enable;
	char		*stats_uri;
	unsigned	 stats_refresh;
	char		*stats_auth[8];		/* "user:pass" */
	int		 nstats_auth;
	char		*prom_uri;		/* waxlb: "stats prometheus-uri" */
	char		*stats_realm;		/* NULL: "HAProxy Statistics" */
	unsigned	 stats_flags;		/* STF_* */
	char		*stats_node, *stats_desc;	/* show-node/-desc NAME */
	char		**stats_scope;		/* "stats scope": names, "." */
	int		 nstats_scope;
	struct cond	*stats_admin;		/* "stats admin if COND" */
	char		*desc;			/* "description" */
	char		*monitor_uri;		/* "monitor-uri" */
	struct cond	**monitor_fail;		/* "monitor fail if|unless" */
	int		 nmonitor_fail;
	int		 state_load;		/* load-server-state-from-file:
						 * 0 none, 1 global, 2 local */
	char		*state_name;		/* server-state-file-name */
	int		 uuid;			/* "id", else the next free one */
	int		 uuid_set;

	/* error pages: the directives as written, then the page per status
	 * slot they add up to (NULL: the frontend's, then HAProxy's) */
	struct err_conf	*errconf;
	const struct h1_page *errpage[H1_ERR_CODES];

	/* the one link to runtime (balancer groups, queue): set once when
	 * the config is activated, owned by the srv module */
	struct be_state	*bst;
	struct proxy	*next;
};

/* Where log lines go: syslog over UDP or a unix socket (RFC 3164), or
 * stdout/stderr. */
enum log_kind { LOGT_UDP, LOGT_UNIX, LOGT_STDOUT, LOGT_STDERR };

/* How a line is framed (HAProxy's log "format"). */
enum log_fmt { LOGF_DEFAULT, LOGF_RFC3164, LOGF_LOCAL, LOGF_RFC5424, LOGF_PRIO,
	LOGF_SHORT, LOGF_TIMED, LOGF_ISO, LOGF_RAW };

struct log_target {
	enum log_kind	 kind;
	struct sockaddr_storage addr;
	socklen_t	 addrlen;
	int		 facility;	/* 0..23 */
	int		 level;		/* most verbose severity sent, 0..7 */
	int		 maxlen;
	enum log_fmt	 format;
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
	char		**files;	/* what was loaded, absolute, for reloads */
	int		 nfiles;
	int		 bufsize;
	int		 maxrewrite;
	int		 ssl_cachesize;	/* sessions kept for resumption */
	int		 maxconnrate, maxsessrate;	/* per second; 0: none */
	int		 maxhdr;	/* tune.http.maxhdr, the start line included */
	int		 maxpipes;	/* 0: waxlb's bound */
	int		 pipesize;	/* tune.pipesize; 0: waxlb's size */
	int		 nosplice;
	char		*crt_base;
	char		*ssl_ciphers;	/* ssl-default-bind-ciphers */
	unsigned	 ssl_vmin;	/* ssl-default-bind-options ssl-min-ver */
	unsigned	 ssl_vmax;	/* ... ssl-max-ver; force-* set both */
	unsigned	 ssl_vfloor;	/* ... no-tlsv10 / no-tlsv11 */
	int		 ssl_prefer_client;	/* ... prefer-client-ciphers */
	struct ciph_curves ssl_curves;	/* ssl-default-bind-curves */
	unsigned	 ssl_lifetime;	/* tune.ssl.lifetime, seconds */
	int		 maxsslconn;	/* 0: no limit of its own */
	int		 debug;
	char		*log_tag;	/* "log-tag"; NULL: the program's name */
	char		*log_host;	/* log-send-hostname; NULL: none */
	char		*node;		/* "node"; NULL: the host name */
	char		*desc;		/* "description" */
	int		 spread_checks;	/* "spread-checks", percent */
	char		*state_file;	/* "server-state-file" */
	char		*state_base;	/* "server-state-base" */
	int		 dumpable;	/* "set-dumpable" */
	struct lf	*deflog_http, *deflog_tcp;	/* stderr's lines */
	struct userlist	*userlists;
	struct smp_fixup *fixups;	/* userlist names to resolve */
	unsigned	 needs;		/* NEED_*: what a transaction keeps */
	struct proxy	*proxies;
	struct http_errors *errsecs;	/* http-errors sections */
	struct err_page	*errpages;	/* every error page, for the size check */
	/* everything allocated while parsing, freed together */
	struct u_arena	*arena;
	/* the only field that changes after load: sessions and the
	 * runtime holding this config (see cfg_ref/cfg_unref) */
	int		 refs;
};

/* Load configuration files.  Errors and warnings are printed to <err> as
 * "file:line: message"; returns NULL after the whole input has been read
 * if any error was found. */
struct config *cfg_load(const char *const *files, int nfiles, FILE *err);
/* The same from a string (tests and fuzzers). */
struct config *cfg_parse_string(const char *text, const char *name, FILE *err);
void	cfg_free(struct config *c);
struct proxy *cfg_find_proxy(const struct config *c, const char *name, int cap);
/* The keywords waxlb accepts without effect, and why, then those it
 * refuses, with their messages (waxlb -vv). */
void	cfg_print_ignored(FILE *f);
/* Where a configuration line is: HAProxy's .FILE, .LINE, .SECTION. */
struct cfg_pos {
	const char	*file;
	int		 line;
	const char	*section;
};
/* Split one configuration line into args[] (words stored in out[]) as
 * HAProxy does, environment variables expanded; the word count, or -1
 * with *errmsg set. */
int	cfg_tokenize(const char *line, char *out, size_t outlen, char **args,
	    int maxargs, const struct cfg_pos *pos, const char **errmsg);

/* ================================================================== */
/* srv: runtime state of servers and backends                           */

/* Administrative state, from the runtime API or from an agent. */
enum srv_admin { ADMIN_READY, ADMIN_DRAIN, ADMIN_MAINT };

/* Per-server runtime state, kept apart from the parsed configuration so
 * that a reload can hand it to the new server of the same name. */
struct srv_state {
	int		 refs;		/* configs whose server points here */
	int		 cur;		/* requests in flight and tunnels */
	int		 smax;
	uint64_t	 stot;
	uint64_t	 bin, bout;
	uint64_t	 econ, eresp;
	/* HAProxy's per-server counters of the same names (show stat) */
	uint64_t	 wretr, wredis;	/* retries on it, redispatches away */
	uint64_t	 cli_abrt, srv_abrt;
	uint64_t	 req_tot;	/* response heads it sent, 1xx included */
	uint64_t	 hrsp[6];	/* by class: [1]..[5] 1xx..5xx, [0] other */
	int		 up;		/* as the checks see it */
	int		 health;	/* HAProxy's counter, 0..rise+fall-1 */
	unsigned	 chkfail;
	int		 chk_status;	/* HCHK_*, the last check's status */
	int64_t		 last_change;	/* ms */
	char		 reason[200];
	struct server	*srv;		/* the newest bound config's server; NULL
					 * when only older configs still use it */
	enum srv_admin	 admin;		/* runtime API */
	int		 weight_set;	/* runtime API "set server weight" */
	int		 weight;
	int		 checks_off;	/* "disable health" */
	int		 draining;	/* last logged drain state */
	int		 nolb;		/* disable-on-404: HAProxy's STOPPING */
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
	int		 check_code;	/* its HTTP status (L7OK, L7STS), or 0 */
	/* for the metrics, as HAProxy's counters of the same names */
	uint64_t	 chkdown;	/* UP -> DOWN or MAINT transitions */
	int64_t		 down_ms;	/* time spent down before last_change */
	uint64_t	 connects, reuses;	/* new and pooled connections */
	int64_t		 last_sess;	/* last assignment (ms), 0: never */
	/* agent check */
	int		 agent_down;
	enum srv_admin	 agent_admin;	/* from the last reply */
	int		 weight_pct;	/* valid when weight_pct_set (agent "N%") */
	int		 weight_pct_set;
	int		 agent_maxconn;	/* valid when agent_maxconn_set */
	int		 agent_maxconn_set;
	char		 agent_desc[64];
	int64_t		 up_since;	/* for slowstart, monotonic ms */
};

/* A waiting list of sessions (a backend's queue), linked through them. */
struct srv_qlink {
	struct srv_qlink *next, *prev;
};
struct srv_queue {
	struct srv_qlink *head, *tail;
	int		 len, max;
};

/* Per-backend runtime state of one config: the balancer's groups and
 * nodes, and the queue. */
struct be_state {
	struct lb_node	*nodes;		/* one per server, by id - 1 */
	struct fwrr_grp	 act, bck;
	int		 srv_act, srv_bck;	/* usable servers */
	struct server	*fbck;		/* first usable backup */
	uint64_t	 lb_seq;
	int		 tot_wact, tot_wbck;
	struct srv_queue queue;
};

/* Give every server and backend of <cfg> its runtime state: the state of
 * the server of the same backend and name in <old> when there is one (a
 * reload), a fresh one otherwise; then initialise the balancers. */
void	srv_bind(struct config *cfg, const struct config *old);
/* Drop <cfg>'s references; states no newer config uses are freed. */
void	srv_unbind(struct config *cfg);

/* ================================================================== */
/* chk: health checks                                                   */

/* A check's status, as HAProxy's check_status column names them. */
enum hchk {
	HCHK_INI, HCHK_SOCKERR, HCHK_L4OK, HCHK_L4TOUT, HCHK_L4CON,
	HCHK_L7OK, HCHK_L7TOUT, HCHK_L7RSP, HCHK_L7STS, HCHK_L7OKC
};

/* HAProxy agent-check reply line. */
enum { AGENT_NONE, AGENT_UP, AGENT_DOWN, AGENT_FAIL, AGENT_STOPPED };
struct agent_reply {
	int	 state;		/* AGENT_NONE, AGENT_UP, AGENT_DOWN, AGENT_FAIL, AGENT_STOPPED */
	int	 admin;		/* -1 if absent, else enum srv_admin */
	int	 weight_pct;	/* -1 if absent */
	int	 maxconn;	/* -1 if absent */
	char	 desc[64];
};
int	chk_agent_parse(const char *line, size_t len, struct agent_reply *out);

/* ================================================================== */
/* main                                                                 */

/* The program itself (main() calls it). */
int	waxlb_main(int argc, char **argv);

#endif /* WAXLB_H */
