# SPDX-License-Identifier: ISC
# libFuzzer targets (clang): `make fuzz` builds them; see tests/fuzz/README.
#
# Plain rules, not automake PROGRAMS, so that `make all` never needs
# clang.  The targets are built straight from the core sources with
# clang's sanitizers, never from server/libcore.a, which CC (perhaps gcc,
# perhaps with other flags) built.  Everything lands under the build
# directory's tests/fuzz/; `make fuzz-run` fuzzes a copy of the seed
# corpus there, so the source tree is only read.  clean-fuzz removes it
# all (wired into clean-local by Makefile.am).

FUZZ_CC = clang
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_CPPFLAGS = -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-I$(top_srcdir)/server -I$(top_srcdir)/tests/fuzz
# seconds per target for fuzz-run; extra libFuzzer flags
FUZZ_SECONDS = 60
FUZZ_FLAGS =

FUZZ_TARGETS = smtp_line smtp_cmd smtp_data session conf search envelope \
	smtp_client milter hook_out
FUZZ_BINS = \
	tests/fuzz/fuzz_smtp_line \
	tests/fuzz/fuzz_smtp_cmd \
	tests/fuzz/fuzz_smtp_data \
	tests/fuzz/fuzz_session \
	tests/fuzz/fuzz_conf \
	tests/fuzz/fuzz_search \
	tests/fuzz/fuzz_envelope \
	tests/fuzz/fuzz_smtp_client \
	tests/fuzz/fuzz_milter \
	tests/fuzz/fuzz_hook_out

# The protocol core: CORE_SRCS and CORE_HDRS from Makefile.am (the one
# list of server/libcore.a's sources), compiled here with clang into
# tests/fuzz/obj/core.a, and the harness.
FUZZ_CORE_DEPS = $(CORE_SRCS) $(CORE_HDRS) \
	tests/fuzz/harness.c tests/fuzz/harness.h
FUZZ_OBJS = tests/fuzz/obj/harness.o tests/fuzz/obj/core.a

EXTRA_DIST += \
	tests/fuzz/README \
	tests/fuzz/harness.c tests/fuzz/harness.h \
	tests/fuzz/fuzz_smtp_line.c tests/fuzz/fuzz_smtp_cmd.c \
	tests/fuzz/fuzz_smtp_data.c tests/fuzz/fuzz_session.c \
	tests/fuzz/fuzz_conf.c tests/fuzz/fuzz_search.c \
	tests/fuzz/fuzz_envelope.c tests/fuzz/fuzz_smtp_client.c \
	tests/fuzz/fuzz_milter.c \
	tests/fuzz/fuzz_hook_out.c \
	tests/fuzz/smtp.dict \
	tests/fuzz/corpus

# fuzz - check that FUZZ_CC links libFuzzer, then build every target.
fuzz:
	@$(MKDIR_P) tests/fuzz/obj
	@if ! $(FUZZ_CC) --version >/dev/null 2>&1; then \
	  echo "make fuzz: '$(FUZZ_CC)' not found.  The fuzz targets need" \
	    "clang with libFuzzer: apt-get install clang (or set" \
	    "FUZZ_CC=clang-NN)." >&2; \
	  exit 1; \
	fi
	@echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);' \
	  'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)' \
	  '{ (void)d; (void)n; return 0; }' >tests/fuzz/obj/cc-check.c
	@if ! $(FUZZ_CC) $(FUZZ_CFLAGS) tests/fuzz/obj/cc-check.c \
	    -o tests/fuzz/obj/cc-check >tests/fuzz/obj/cc-check.log 2>&1; then \
	  cat tests/fuzz/obj/cc-check.log >&2; \
	  echo "make fuzz: '$(FUZZ_CC)' cannot link a libFuzzer target" \
	    "with ASan and UBSan.  It must be clang, with its runtime" \
	    "(Debian: apt-get install clang libclang-rt-dev)." >&2; \
	  exit 1; \
	fi
	@$(MAKE) $(AM_MAKEFLAGS) $(FUZZ_BINS)

# One command compiles the core into an archive (the targets link what
# they use) and the harness; a stamp stands for both.
tests/fuzz/obj/core.stamp: $(FUZZ_CORE_DEPS)
	@$(MKDIR_P) tests/fuzz/obj
	@rm -f tests/fuzz/obj/core.a
	@for f in $(CORE_SRCS); do \
	  m=`basename $$f .c`; \
	  echo "  FUZZCC   $$f"; \
	  $(FUZZ_CC) $(FUZZ_CPPFLAGS) -std=c11 $(FUZZ_CFLAGS) -c \
	    $(top_srcdir)/$$f -o tests/fuzz/obj/$$m.o || exit 1; \
	  $(AR) cr tests/fuzz/obj/core.a tests/fuzz/obj/$$m.o || exit 1; \
	done
	@$(RANLIB) tests/fuzz/obj/core.a
	@echo "  FUZZCC   tests/fuzz/harness.c"
	@$(FUZZ_CC) $(FUZZ_CPPFLAGS) -std=c11 $(FUZZ_CFLAGS) -c \
	  $(top_srcdir)/tests/fuzz/harness.c -o tests/fuzz/obj/harness.o
	@touch tests/fuzz/obj/core.stamp

FUZZ_LINK = $(FUZZ_CC) $(FUZZ_CPPFLAGS) -std=c11 $(FUZZ_CFLAGS)
FUZZ_LIBS = $(LIBIDN2_LIBS) $(UNISTRING_LIBS)

tests/fuzz/fuzz_smtp_line: $(top_srcdir)/tests/fuzz/fuzz_smtp_line.c \
    tests/fuzz/obj/core.stamp
	@echo "  FUZZLD   $@"
	@$(FUZZ_LINK) -o $@ $(top_srcdir)/tests/fuzz/fuzz_smtp_line.c \
	  $(FUZZ_OBJS) $(FUZZ_LIBS)

tests/fuzz/fuzz_smtp_cmd: $(top_srcdir)/tests/fuzz/fuzz_smtp_cmd.c \
    tests/fuzz/obj/core.stamp
	@echo "  FUZZLD   $@"
	@$(FUZZ_LINK) -o $@ $(top_srcdir)/tests/fuzz/fuzz_smtp_cmd.c \
	  $(FUZZ_OBJS) $(FUZZ_LIBS)

tests/fuzz/fuzz_smtp_data: $(top_srcdir)/tests/fuzz/fuzz_smtp_data.c \
    tests/fuzz/obj/core.stamp
	@echo "  FUZZLD   $@"
	@$(FUZZ_LINK) -o $@ $(top_srcdir)/tests/fuzz/fuzz_smtp_data.c \
	  $(FUZZ_OBJS) $(FUZZ_LIBS)

tests/fuzz/fuzz_session: $(top_srcdir)/tests/fuzz/fuzz_session.c \
    tests/fuzz/obj/core.stamp
	@echo "  FUZZLD   $@"
	@$(FUZZ_LINK) -o $@ $(top_srcdir)/tests/fuzz/fuzz_session.c \
	  $(FUZZ_OBJS) $(FUZZ_LIBS)

tests/fuzz/fuzz_conf: $(top_srcdir)/tests/fuzz/fuzz_conf.c \
    tests/fuzz/obj/core.stamp
	@echo "  FUZZLD   $@"
	@$(FUZZ_LINK) -o $@ $(top_srcdir)/tests/fuzz/fuzz_conf.c \
	  $(FUZZ_OBJS) $(FUZZ_LIBS)

tests/fuzz/fuzz_search: $(top_srcdir)/tests/fuzz/fuzz_search.c \
    tests/fuzz/obj/core.stamp
	@echo "  FUZZLD   $@"
	@$(FUZZ_LINK) -o $@ $(top_srcdir)/tests/fuzz/fuzz_search.c \
	  $(FUZZ_OBJS) $(FUZZ_LIBS)

tests/fuzz/fuzz_envelope: $(top_srcdir)/tests/fuzz/fuzz_envelope.c \
    tests/fuzz/obj/core.stamp
	@echo "  FUZZLD   $@"
	@$(FUZZ_LINK) -o $@ $(top_srcdir)/tests/fuzz/fuzz_envelope.c \
	  $(FUZZ_OBJS) $(FUZZ_LIBS)

tests/fuzz/fuzz_smtp_client: $(top_srcdir)/tests/fuzz/fuzz_smtp_client.c \
    tests/fuzz/obj/core.stamp
	@echo "  FUZZLD   $@"
	@$(FUZZ_LINK) -o $@ $(top_srcdir)/tests/fuzz/fuzz_smtp_client.c \
	  $(FUZZ_OBJS) $(FUZZ_LIBS)

tests/fuzz/fuzz_milter: $(top_srcdir)/tests/fuzz/fuzz_milter.c \
    tests/fuzz/obj/core.stamp
	@echo "  FUZZLD   $@"
	@$(FUZZ_LINK) -o $@ $(top_srcdir)/tests/fuzz/fuzz_milter.c \
	  $(FUZZ_OBJS) $(FUZZ_LIBS)

tests/fuzz/fuzz_hook_out: $(top_srcdir)/tests/fuzz/fuzz_hook_out.c \
    tests/fuzz/obj/core.stamp
	@echo "  FUZZLD   $@"
	@$(FUZZ_LINK) -o $@ $(top_srcdir)/tests/fuzz/fuzz_hook_out.c \
	  $(FUZZ_OBJS) $(FUZZ_LIBS)

# fuzz-run - each target for FUZZ_SECONDS on its corpus, copied into
# tests/fuzz/run/<target>/corpus (new inputs accumulate there across
# runs); crashes go to tests/fuzz/run/<target>/.  Fails if any target
# found something, after all of them have run.
fuzz-run: fuzz
	@fail=0; \
	for t in $(FUZZ_TARGETS); do \
	  d=tests/fuzz/run/$$t; \
	  $(MKDIR_P) $$d/corpus || exit 1; \
	  cp $(top_srcdir)/tests/fuzz/corpus/$$t/* $$d/corpus/ || exit 1; \
	  chmod -R u+w $$d/corpus; \
	  echo "fuzz-run: $$t for $(FUZZ_SECONDS)s, log in $$d/fuzz.log"; \
	  if ./tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	      -print_final_stats=1 -artifact_prefix=$$d/ \
	      -dict=$(top_srcdir)/tests/fuzz/smtp.dict $(FUZZ_FLAGS) \
	      $$d/corpus >$$d/fuzz.log 2>&1; then \
	    grep '^Done ' $$d/fuzz.log; \
	  else \
	    tail -n 40 $$d/fuzz.log; \
	    echo "fuzz-run: $$t FAILED; see $$d/" >&2; \
	    fail=1; \
	  fi; \
	done; \
	exit $$fail

clean-fuzz:
	-rm -rf tests/fuzz/obj tests/fuzz/run
	-rm -f $(FUZZ_BINS)

.PHONY: fuzz fuzz-run clean-fuzz

# The sink API's MIME-to-JSON path: an edge module (GMime, jansson), so it
# is linked with them and with config.h's directory, beside the core.
FUZZ_TARGETS += msgview
FUZZ_BINS += tests/fuzz/fuzz_msgview
EXTRA_DIST += tests/fuzz/fuzz_msgview.c
FUZZ_MSGVIEW_SRCS = $(top_srcdir)/tests/fuzz/fuzz_msgview.c \
	$(top_srcdir)/server/msgview.c $(top_srcdir)/server/mime.c
tests/fuzz/fuzz_msgview: $(FUZZ_MSGVIEW_SRCS) tests/fuzz/obj/core.stamp
	@echo "  FUZZLD   $@"
	@$(FUZZ_LINK) -I$(top_builddir) $(GMIME_CFLAGS) $(JANSSON_CFLAGS) \
	  -o $@ $(FUZZ_MSGVIEW_SRCS) $(FUZZ_OBJS) $(GMIME_LIBS) \
	  $(JANSSON_LIBS) $(FUZZ_LIBS)
