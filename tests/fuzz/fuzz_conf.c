/* SPDX-License-Identifier: ISC */
/*
 * fuzz_conf - libFuzzer target for the configuration parser.
 * The input is a configuration file.  When it parses, conf_fmt() must
 * print it so that conf_parse() reads it back to the same configuration
 * (conf.h), which we test by printing the copy again: the two texts must
 * be identical.  When it does not parse, the message must name the file
 * and line.  Every line of the input also goes through conf_set() as a
 * "-o key=value" override, which must leave the config intact on error.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "harness.h"
#include "log.h"

#define CONF_NAME	"fuzz.conf"
#define KV_MAX		1024

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_open("fuzz_conf", true, LOG_LEVEL_ERR);
	return 0;
}

/* check_roundtrip - conf_fmt(c) parses back to a config that prints alike. */
static void
check_roundtrip(const struct config *c)
{
	struct config *copy;
	char *text, *again, *err = NULL;

	text = conf_fmt(c);
	HARNESS_CHECK(text != NULL);
	copy = conf_new("fuzz.test");
	if (conf_parse(copy, "fmt", text, strlen(text), &err) != 0)
		harness_fail("conf_fmt output does not parse: %s\n%s", err,
		    text);
	again = conf_fmt(copy);
	if (strcmp(text, again) != 0)
		harness_fail("round trip differs:\n%s\n----\n%s", text, again);
	free(again);
	free(text);
	conf_free(&copy);
	HARNESS_CHECK(copy == NULL);
}

/* check_override - one line as -o key=value; on error c is unchanged. */
static void
check_override(struct config *c, const char *line, size_t n)
{
	char kv[KV_MAX], *before, *after, *err = NULL;

	if (n >= sizeof(kv) || memchr(line, '\0', n) != NULL)
		return;
	memcpy(kv, line, n);
	kv[n] = '\0';
	before = conf_fmt(c);
	if (conf_set(c, kv, &err) == 0) {
		free(before);
		check_roundtrip(c);
		return;
	}
	HARNESS_CHECK(err != NULL && strstr(err, "-o ") != NULL);
	free(err);
	after = conf_fmt(c);
	if (strcmp(before, after) != 0)
		harness_fail("failed -o %s changed the config", kv);
	free(before);
	free(after);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *p, *nl;
	struct config *c;
	char *err = NULL;

	c = conf_new("fuzz.test");
	if (conf_parse(c, CONF_NAME, text, size, &err) == 0) {
		HARNESS_CHECK(err == NULL);
		check_roundtrip(c);
		(void)conf_check(c, &err);
	} else
		HARNESS_CHECK(err != NULL &&
		    strncmp(err, CONF_NAME ":", strlen(CONF_NAME ":")) == 0);
	free(err);
	conf_free(&c);

	c = conf_new("fuzz.test");
	for (p = text; p < text + size; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(text + size - p));
		if (nl == NULL)
			nl = text + size;
		check_override(c, p, (size_t)(nl - p));
	}
	conf_free(&c);
	return 0;
}
