/* ACL evaluation: a fixed configuration using every fetch and match kind,
 * and a fuzzed request (and source address) evaluated against every rule. */
#include <arpa/inet.h>
#include "fuzz.h"

static const char cfg_text[] =
    "defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n"
    "frontend fe\n bind 127.0.0.1:1\n"
    " acl h_str hdr(host) -i wax.eosphere.io ws-wax.eosphere.io\n"
    " acl h_beg hdr_beg(host) -i wax. api\n"
    " acl h_end hdr_end(host) .io .com\n"
    " acl h_sub hdr_sub(user-agent) -i curl bot\n"
    " acl h_dom hdr_dom(host) -i eosphere.io\n"
    " acl h_dir hdr_dir(x-path) v1\n"
    " acl h_reg hdr_reg(host) -i ^(ws-)?wax\\.[a-z]+\\.io$\n"
    " acl h_found hdr(x-found) -m found\n"
    " acl h_len hdr_len(host) gt 10\n"
    " acl h_cnt hdr_cnt(x-dup) ge 2\n"
    " acl h_int hdr_cnt lt 5\n"
    " acl conn hdr(Connection) -i upgrade\n"
    " acl upg hdr(Upgrade) -i websocket\n"
    " acl p_str path /v1/chain/get_info /\n"
    " acl p_beg path_beg /v1/chain /v1/history\n"
    " acl p_end path_end .json .php\n"
    " acl p_sub path_sub admin\n"
    " acl p_dir path_dir chain\n"
    " acl p_dom path_dom example\n"
    " acl p_reg path_reg -i ^/v[0-9]+/(chain|history)/\n"
    " acl p_len path_len le 8\n"
    " acl u_beg url_beg /v1 http://\n"
    " acl u_sub url_sub ?json=\n"
    " acl u_reg url_reg [?&]a=b\n"
    " acl m_get method GET HEAD\n"
    " acl m_post method POST\n"
    " acl src_lan src 10.0.0.0/8 192.168.0.0/16 127.0.0.1\n"
    " acl src_v6 src ::1 fe80::/10\n"
    " acl tls ssl_fc\n"
    " acl yes always_true\n"
    " acl no always_false\n"
    " acl v11 req.ver 1.1\n"
    " use_backend be if h_str p_beg || h_beg !p_end || h_end h_sub\n"
    " use_backend be if h_dom h_dir || h_reg || h_found h_len\n"
    " use_backend be if h_cnt || h_int || conn upg\n"
    " use_backend be unless p_str p_sub || p_dir p_dom || p_reg !p_len\n"
    " use_backend be if u_beg u_sub || u_reg m_get || m_post !src_lan\n"
    " use_backend be if src_v6 || tls yes || no v11\n"
    " use_backend be if { hdr(host) -m beg -i wax } { path -m reg ^/a } { src 1.2.3.0/24 }\n"
    " use_backend be if { path -m len 3 } || { hdr_cnt(host) eq 1 } || { hdr(x-a) -m end -i z }\n"
    " default_backend be\n"
    "backend be\n server s 127.0.0.1:2\n";

static struct config *cfg;

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct http_msg m;
	struct sockaddr_storage ss;
	struct smp_ctx ctx;
	struct switch_rule *r;
	struct proxy *fe;
	struct acl *a;
	char *b;
	int rules = 0;

	if (cfg == NULL) {
		cfg = cfg_parse_string(cfg_text, "acl.cfg", stderr);
		FZ_ASSERT(cfg != NULL);
	}
	if (n < 18)
		return 0;
	/* first 18 bytes: family selector, ssl flag, 16 address bytes */
	memset(&ss, 0, sizeof(ss));
	memset(&ctx, 0, sizeof(ctx));
	ctx.cli_fd = -1;
	if (d[0] & 1) {
		struct sockaddr_in6 *s6 = (void *)&ss;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, d + 2, 16);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, d + 2, 4);
	}
	ctx.src = (d[0] & 2) ? NULL : &ss;
	ctx.ssl = d[1] & 1;
	d += 18;
	n -= 18;
	b = fz_dup(d, n);
	if (h1_parse_request(b, n, &m) > 0) {
		ctx.msg = &m;
		fe = cfg_find_proxy(cfg, "fe", CAP_FE);
		FZ_ASSERT(fe != NULL);
		for (r = fe->rules; r; r = r->next, rules++) {
			int x = acl_cond_exec(r->cond, &ctx);
			FZ_ASSERT(x == 0 || x == 1);
		}
		FZ_ASSERT(rules == 8);
		for (a = fe->acls; a; a = a->next) {
			int x = acl_exec(a, &ctx);
			FZ_ASSERT(x == 0 || x == 1);
		}
		/* TCP-mode view: no message */
		ctx.msg = NULL;
		for (a = fe->acls; a; a = a->next)
			acl_exec(a, &ctx);
	}
	free(b);
	return 0;
}
