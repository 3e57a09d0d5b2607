# Vantage build.  `make` builds build/vantage; see README.md for the rest.
#
# Every .c under src/ is compiled; src/cli/main.c holds main() and is left
# out of the unit-test binaries.  Unit tests (tests/unit/test_*.c, cmocka)
# are built with AddressSanitizer and UndefinedBehaviorSanitizer; the other
# .c files of tests/unit/ (fake_view.c) are a library linked into each.
# `make unit` also builds the helper programs of the integration tests
# (build/tests/: store_tool, qmp_tool, vmi_fuzz), which the scripts run.

CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter -Wformat=2 \
           -D_GNU_SOURCE -MMD -MP -I/usr/include/postgresql
LDLIBS  := -lpq -lrdkafka -lzstd -lcurl -lcrypto -lsqlite3 -ljansson -linih -lbpf -lext2fs -lcom_err -lsystemd -lpthread -lm
SANFLAGS := -I/usr/include/postgresql -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

B       := build
SRC     := $(shell find src -name '*.c' | sort)
LIBSRC  := $(filter-out src/cli/main.c,$(SRC))
OBJ     := $(SRC:%.c=$(B)/obj/%.o)
SANOBJ  := $(LIBSRC:%.c=$(B)/san/%.o)
UNIT    := $(patsubst tests/unit/%.c,$(B)/unit/%,$(wildcard tests/unit/test_*.c))
# tests/unit/*.c that are not tests: helpers linked into every unit test
UNITLIB := $(patsubst tests/unit/%.c,$(B)/unitlib/%.o,\
             $(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c)))
# the unit tests again without sanitizers, for valgrind (make valgrind)
VGUNIT  := $(patsubst tests/unit/%.c,$(B)/unitvg/%,$(wildcard tests/unit/test_*.c))
VGLIB   := $(patsubst tests/unit/%.c,$(B)/unitvglib/%.o,\
             $(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c)))
# the library without main(), plain and sanitized, for the helper programs
LIBA    := $(B)/libvantage.a
SANLIBA := $(B)/libvantage-san.a
# helper programs of the integration tests built plainly (vmi_fuzz is sanitized)
TOOLS   := store_tool qmp_tool procnet_tool alarm_action_tool alarm_drift_tool kafka_mock klog_tool flows_tool \
           log_tool
TESTBIN := $(TOOLS:%=$(B)/tests/%) $(B)/tests/vmi_fuzz $(B)/vantage-san
# kept: make must not delete them as intermediates (and print that after
# the test summary line, which has to come last)
.SECONDARY: $(SANOBJ) $(UNITLIB) $(FUZZOBJ) $(VGLIB)
# fuzz harnesses (fuzz/README.md): libFuzzer builds for `make fuzz`, replay
# builds (gcc, ASan+UBSan, fuzz/driver.c) that tests/run runs over the seed
# corpus and the regression inputs
FUZZSRC := $(wildcard fuzz/fuzz_*.c)
FUZZBIN := $(patsubst fuzz/%.c,$(B)/fuzz/%,$(FUZZSRC))
FUZZREG := $(patsubst fuzz/%.c,$(B)/fuzzreg/%,$(FUZZSRC))
FUZZOBJ := $(LIBSRC:%.c=$(B)/fuzzobj/%.o)
FUZZLIBA := $(B)/libvantage-fuzz.a
FUZZCC  ?= clang
FUZZFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
             -I/usr/include/postgresql
BENCHC  := $(wildcard bench/*.c)
BENCHBIN := $(patsubst bench/%.c,$(B)/bench/%,$(BENCHC))

.PHONY: all test unit testbin bench format lint layers clean install install-ui fuzz fuzzbin soak \
        valgrind
all: $(B)/vantage $(LIBA) $(BENCHBIN)

$(B)/vantage: $(OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -MMD -MP $(SANFLAGS) -c -o $@ $<

$(B)/unitlib/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter -D_GNU_SOURCE -MMD -MP -Isrc $(SANFLAGS) -c -o $@ $<

# (their dependency files go to build/dep/: tests/run runs build/unit/test_*)
$(B)/unit/%: tests/unit/%.c $(SANOBJ) $(UNITLIB)
	@mkdir -p $(dir $@) $(B)/dep/unit
	$(CC) -std=gnu11 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -MMD -MP -MF $(B)/dep/unit/$*.d -Isrc $(SANFLAGS) -o $@ $< $(UNITLIB) $(SANOBJ) -lcmocka $(LDLIBS)

# the daemon with ASan+UBSan: the integration tests run it (tests/run)
$(B)/vantage-san: $(B)/san/src/cli/main.o $(SANLIBA)
	$(CC) $(SANFLAGS) -o $@ $^ $(LDLIBS)

$(LIBA): $(filter-out $(B)/obj/src/cli/main.o,$(OBJ))
	@rm -f $@
	ar rcs $@ $^

$(SANLIBA): $(SANOBJ)
	@rm -f $@
	ar rcs $@ $^

# Helper programs of tests/integration/ (and bench/): store_tool and
# qmp_tool as the scripts built them (-O1 -g), vmi_fuzz with ASan+UBSan
# over the sanitized objects of the unit tests.
$(TOOLS:%=$(B)/tests/%): $(B)/tests/%: tests/integration/%.c $(LIBA)
	@mkdir -p $(dir $@) $(B)/dep/tests
	$(CC) -O1 -g -std=gnu11 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -MMD -MP -MF $(B)/dep/tests/$*.d -Isrc -o $@ $< $(LIBA) $(LDLIBS)

# hostile_tool runs inside busybox containers and QEMU guests: static, no library
TESTBIN += $(B)/tests/hostile_tool
$(B)/tests/hostile_tool: tests/integration/hostile_tool.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -static -std=gnu11 -Wall -Wextra -D_GNU_SOURCE -o $@ $<

$(B)/tests/vmi_fuzz: tests/integration/vmi_fuzz.c $(SANLIBA)
	@mkdir -p $(dir $@) $(B)/dep/tests
	$(CC) -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter -D_GNU_SOURCE -MMD -MP -MF $(B)/dep/tests/vmi_fuzz.d -Isrc $(SANFLAGS) -o $@ $< $(SANLIBA) $(LDLIBS)

$(B)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -std=gnu11 -Wall -Wextra -D_GNU_SOURCE -o $@ $<

unit: $(UNIT) testbin

# valgrind (memcheck) over every unit test built without sanitizers:
# scripts/valgrind prints one TAP line per test program and the errors.
$(B)/unitvglib/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -MMD -MP -Isrc \
	  -I/usr/include/postgresql -c -o $@ $<

$(B)/unitvg/%: tests/unit/%.c $(LIBA) $(VGLIB)
	@mkdir -p $(dir $@) $(B)/dep/unitvg
	$(CC) -O1 -g -std=gnu11 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -MMD -MP \
	  -MF $(B)/dep/unitvg/$*.d -Isrc -I/usr/include/postgresql -o $@ $< $(VGLIB) $(LIBA) -lcmocka $(LDLIBS)

valgrind: $(VGUNIT)
	scripts/valgrind

testbin: $(TESTBIN) $(FUZZREG)

# libFuzzer builds: the library again with clang and coverage
# instrumentation (build/fuzzobj/), each harness linked with -fsanitize=fuzzer
$(B)/fuzzobj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZCC) -std=gnu11 -D_GNU_SOURCE -w -MMD -MP $(FUZZFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZLIBA): $(FUZZOBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/fuzz/%: fuzz/%.c fuzz/common.c fuzz/fuzz.h $(FUZZLIBA)
	@mkdir -p $(dir $@) $(B)/dep/fuzz
	$(FUZZCC) -std=gnu11 -D_GNU_SOURCE -Wall -Wno-unused-parameter -MMD -MP -MF $(B)/dep/fuzz/$*.d -Isrc -Ifuzz \
	  $(FUZZFLAGS) -fsanitize=fuzzer -o $@ $< fuzz/common.c $(FUZZLIBA) $(LDLIBS)

$(B)/fuzzreg/%: fuzz/%.c fuzz/common.c fuzz/driver.c fuzz/fuzz.h $(SANLIBA)
	@mkdir -p $(dir $@) $(B)/dep/fuzzreg
	$(CC) -std=gnu11 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -MMD -MP -MF $(B)/dep/fuzzreg/$*.d -Isrc -Ifuzz \
	  $(SANFLAGS) -o $@ $< fuzz/common.c fuzz/driver.c $(SANLIBA) $(LDLIBS)

fuzzbin: $(FUZZBIN)

# Each harness for FUZZ_TIME seconds (default 600), or only those named in
# FUZZ (e.g. make fuzz FUZZ="sflow http" FUZZ_TIME=60); a table of
# executions, coverage and findings at the end (scripts/fuzz --help).
FUZZ_TIME ?= 600
fuzz: fuzzbin
	scripts/fuzz --time $(FUZZ_TIME) $(FUZZ)

# The long runs (tests/soak/*.sh, or those named in SOAK): churn, guest RAM
# storms, the 30-minute daemon soak (scripts/soak --help).
soak: all testbin
	scripts/soak $(SOAK)

# The test command: unit tests (sanitized) and integration tests, one
# summary line "N passed, N failed" at the end.
# (the sanitized objects are built two at a time even under a plain `make test`)
test: all
	$(MAKE) --no-print-directory -j2 unit testbin
	tests/run

bench: all
	bench/run

# Every #include points down the layers of docs/architecture.md.
layers:
	scripts/layers

format:
	clang-format -i $$(find src tests bench fuzz -name '*.[ch]')

# cppcheck, then clang-tidy (.clang-tidy: any finding is an error) over the
# files LINT_JOBS at a time; its "N warnings generated." lines count what it
# suppressed in system headers and are dropped.
LINT_JOBS ?= 2
lint:
	cppcheck -j$(LINT_JOBS) --quiet --enable=warning,performance,portability --inline-suppr \
	  --suppress=missingIncludeSystem --error-exitcode=1 -D_GNU_SOURCE src
	find src -name '*.c' | sort | xargs -P$(LINT_JOBS) -n4 sh -c '{ e=$$(clang-tidy \
	  --quiet "$$@" -- -std=gnu11 -D_GNU_SOURCE -Isrc -I/usr/include/postgresql 2>&1 >&3); r=$$?; } 3>&1; \
	  printf "%s" "$$e" | grep -Ev "^[0-9]+ (warning|error)s?( and [0-9]+ (warning|error)s?)? generated\.$$" >&2; \
	  exit $$r' clang-tidy

PREFIX ?= /usr/local
install: $(B)/vantage
	install -D -m 0755 $(B)/vantage $(DESTDIR)$(PREFIX)/bin/vantage
	install -D -m 0644 docs/vantage.1 $(DESTDIR)$(PREFIX)/share/man/man1/vantage.1
	$(MAKE) --no-print-directory install-ui

# The dashboard (docs/dashboard.md): index.html, app/ and the three npm
# libraries (scripts/setup.sh installs them into ui/node_modules) as
# PREFIX/share/vantage/ui/vendor/NAME, where the daemon finds them.
UIDIR   = $(abspath $(DESTDIR)$(PREFIX)/share/vantage/ui)
UIVENDOR := ui/node_modules/uplot/dist/uPlot.iife.min.js ui/node_modules/uplot/dist/uPlot.min.css \
            ui/node_modules/cytoscape/dist/cytoscape.min.js
install-ui:
	@for f in $(UIVENDOR); do [ -f $$f ] || { echo "$$f is missing: run scripts/setup.sh (npm ci --prefix ui)" >&2; exit 1; }; done
	@[ -f ui/index.html ] || { echo "ui/index.html is missing" >&2; exit 1; }
	rm -rf $(UIDIR)
	install -D -m 0644 ui/index.html $(UIDIR)/index.html
	cd ui && find app -type f | while read -r f; do install -D -m 0644 "$$f" "$(UIDIR)/$$f" || exit 1; done
	install -D -m 0644 -t $(UIDIR)/vendor $(UIVENDOR)

clean:
	rm -rf $(B)

-include $(OBJ:.o=.d) $(SANOBJ:.o=.d) $(UNITLIB:.o=.d) \
  $(wildcard $(B)/dep/unit/*.d $(B)/dep/unitvg/*.d $(B)/unitvglib/*.d $(B)/dep/tests/*.d $(B)/dep/fuzz/*.d $(B)/dep/fuzzreg/*.d) \
  $(wildcard $(B)/fuzzobj/src/*/*.d $(B)/fuzzobj/src/*/*/*.d)
