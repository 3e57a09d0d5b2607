/* Unit tests: secrets out of configuration text (util/redact.c), under ASan
 * and UBSan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/redact.h"

/* `in` redacted: the text, and the count in *n */
static char *red(const char *in, size_t *n)
{
	struct buf b = {0};
	*n = redact_text(in, strlen(in), &b);
	char *s = strdup(b.len ? buf_str(&b) : "");
	buf_free(&b);
	return s;
}

static void expect(const char *in, const char *want, size_t count)
{
	size_t n;
	char *got = red(in, &n);
	if (strcmp(got, want) != 0 || n != count)
		print_error("in:   %s\nwant: %s (%zu)\ngot:  %s (%zu)\n", in, want, count, got, n);
	assert_string_equal(got, want);
	assert_int_equal(n, count);
	free(got);
}

static void assignments(void **state)
{
	expect("password = hunter2\n", "password = [REDACTED]\n", 1);
	expect("DB_PASSWORD=\"a b c\"\n", "DB_PASSWORD=\"[REDACTED]\"\n", 1);
	expect("export API_KEY='k'\n", "export API_KEY='[REDACTED]'\n", 1);
	expect("  client_secret: abc\n", "  client_secret: [REDACTED]\n", 1);
	expect("- token: abc", "- token: [REDACTED]", 1);
	expect("wpa_psk=abcdef\npsk=\"x\"\n", "wpa_psk=[REDACTED]\npsk=\"[REDACTED]\"\n", 2);
	expect("dbPassword: x\n", "dbPassword: [REDACTED]\n", 1);
	expect("aws_secret_access_key = AbC\n", "aws_secret_access_key = [REDACTED]\n", 1);
	expect("{\"user\": \"u\", \"password\": \"p\\\"q\", \"n\": 1}",
	       "{\"user\": \"u\", \"password\": \"[REDACTED]\", \"n\": 1}", 1);
}

static void not_secrets(void **state)
{
	/* the key's last word is not a secret word, or there is nothing to hide */
	expect("PasswordAuthentication yes\n", "PasswordAuthentication yes\n", 0);
	expect("password_min_len = 8\n", "password_min_len = 8\n", 0);
	expect("password =\n", "password =\n", 0);
	expect("# password = example\n", "# password = example\n", 0);
	expect("tokenizer = simple\n", "tokenizer = simple\n", 0);
	expect("time: 12:30\nurl=http://host:8080/path\n",
	       "time: 12:30\nurl=http://host:8080/path\n", 0);
	expect("url=https://user@host/\n", "url=https://user@host/\n", 0);
	expect("PWD=/home\n", "PWD=[REDACTED]\n", 1); /* a secret word: kept simple */
	expect("", "", 0);
}

static void shapes(void **state)
{
	expect("u=postgres://bob:s3cret@db:5432/x\n", "u=postgres://bob:[REDACTED]@db:5432/x\n", 1);
	expect("Authorization: Bearer abc.def\n", "Authorization: Bearer [REDACTED]\n", 1);
	expect("x ghp_abcdefghijklmnopqrstuvwxyz0123456789 y", "x [REDACTED] y", 1);
	expect("t=glpat-abcdefghij0123456789", "t=[REDACTED]", 1);
	expect("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl end", "jwt [REDACTED] end",
	       1);
	expect("root:$6$saltsalt$abcdefghijklmnopqrstuvwxyzABCDEF:19000:0::::\n",
	       "root:[REDACTED]:19000:0::::\n", 1);
	expect("cost $5 and $6 each\n", "cost $5 and $6 each\n", 0);
	expect("notghp_abcdefghijklmnopqrstuvwxyz0123", "notghp_abcdefghijklmnopqrstuvwxyz0123", 0);
}

static void keys(void **state)
{
	expect("a\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\nabcd\n-----END RSA PRIVATE KEY-----\nb\n",
	       "a\n-----BEGIN RSA PRIVATE KEY-----\n[REDACTED]\n-----END RSA PRIVATE KEY-----\nb\n",
	       1);
	expect("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----",
	       "-----BEGIN OPENSSH PRIVATE KEY-----\n[REDACTED]\n-----END OPENSSH PRIVATE KEY-----",
	       1);
	/* cut short: everything after BEGIN stays out */
	expect("-----BEGIN PRIVATE KEY-----\nMIIE\n", "-----BEGIN PRIVATE KEY-----\n[REDACTED]\n",
	       1);
	/* a certificate is not a secret */
	expect("-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n",
	       "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n", 0);
}

static void any_bytes(void **state)
{
	/* NULs and invalid UTF-8 pass through; random input never overruns */
	const char in[] = "pass\0word=x\npassword=\xff\xfe\n";
	struct buf b = {0};
	size_t n = redact_text(in, sizeof(in) - 1, &b);
	assert_int_equal(n, 1);
	assert_int_equal(b.len, 12 + strlen("password=[REDACTED]\n"));
	assert_memory_equal(b.data, "pass\0word=x\npassword=[REDACTED]\n", b.len);
	buf_free(&b);
	srand(7);
	char r[512];
	for (int it = 0; it < 20000; it++) {
		size_t len = (size_t)rand() % sizeof(r);
		for (size_t i = 0; i < len; i++)
			r[i] = "=:\"'$/@-_ \npPaAsSwWoOrRdDtTkKeEnN.gh{}eyJ"[rand() % 42];
		char *exact = malloc(len ? len : 1);
		memcpy(exact, r, len);
		struct buf o = {0};
		redact_text(exact, len, &o);
		buf_free(&o);
		free(exact);
	}
}

static void query(void **state)
{
	char o[128];
	redact_query("/api/v1/systems?token=abc&limit=5&api_key=k&Signature=s", o, sizeof(o));
	assert_string_equal(
	    o, "/api/v1/systems?token=[REDACTED]&limit=5&api_key=[REDACTED]&Signature=[REDACTED]");
	redact_query("/plain/path", o, sizeof(o));
	assert_string_equal(o, "/plain/path");
	redact_query("/x?q=password&flag&=v&token", o, sizeof(o));
	assert_string_equal(o, "/x?q=password&flag&=v&token");
	redact_query("/x?token=abcdef", o, 12); /* cut, still terminated */
	assert_string_equal(o, "/x?token=[R");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(assignments), cmocka_unit_test(not_secrets), cmocka_unit_test(shapes),
	    cmocka_unit_test(keys),        cmocka_unit_test(any_bytes),   cmocka_unit_test(query),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
