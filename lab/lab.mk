# lab/lab.mk -- the lab's rules: make lab, make lab EX=N, make dev, make lab-selfcheck
# SPDX-License-Identifier: MIT
#
# Included by the Makefile, so it may use CC, CFLAGS, LDLIBS, LIB, LIB_O,
# SRC, HDR and UNITS. lab/README.md says what each exercise asks.
#
# The lab builds its own copy of the server, build/lab/wshub, one object
# per source file: the pure parts are the unit tests' objects
# (build/o/*.o, LIB_O) and the rest are compiled into build/lab/o/. A
# change to one .c file then costs one compile and a link, not the whole
# program, which is what lets the self-check try every solution in a
# minute and a student run `make lab` after every edit.

LAB_SRV_O   := $(patsubst %.c,build/lab/o/%.o,$(notdir $(filter-out $(LIB),$(SRC))))
LAB_UNITS   := $(addprefix build/lab/unit/,$(UNITS))
LAB_MUTANTS := $(patsubst lab/mutants/%.sed,%,$(wildcard lab/mutants/ex08-*.sed))

.PHONY: lab lab-build lab-unit lab-selfcheck dev
# Kept between runs, though made on the way to something else.
.SECONDARY: $(LAB_SRV_O) $(UNITS:%=build/lab/u/%.o) \
            $(LAB_MUTANTS:%=build/lab/mut/%.c) $(LAB_MUTANTS:%=build/lab/mut/%.o)

# ---- the lab's server --------------------------------------------------------
build/lab/o/%.o: %.c $(HDR)
	@mkdir -p build/lab/o
	$(CC) $(CFLAGS) -c -o $@ $<

build/lab/o/%.o: build/%.c
	@mkdir -p build/lab/o
	$(CC) $(CFLAGS) -c -o $@ $<

build/lab/wshub: $(LAB_SRV_O) $(LIB_O)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# ---- the checks written in C -------------------------------------------------
# ex01: the student's decoding of a frame, against ws.c's decoder.
build/lab/ex01: lab/checks/ex01.c test/check.h $(LIB_O) $(HDR)
	@mkdir -p build/lab
	$(CC) $(CFLAGS) -o $@ $< $(LIB_O) $(LDLIBS)

# ex08: the student's unit test, linked with the real chat.c and with
# each mutant of it (lab/mutants/ex08-N.sed applied to chat.c).
LAB_NOCHAT_O := $(filter-out build/o/chat.o,$(LIB_O))

build/lab/ex08-test.o: lab/mine/ex08_leave_test.c test/check.h test/fakehub.h $(HDR)
	@mkdir -p build/lab
	$(CC) $(CFLAGS) -c -o $@ $<

build/lab/ex08-real: build/lab/ex08-test.o $(LIB_O)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/lab/mut/%.c: lab/mutants/%.sed chat.c
	@mkdir -p build/lab/mut
	sed -f $< chat.c > $@
	@if cmp -s $@ chat.c; then echo "lab: mutant $* no longer changes chat.c (lab/mutants/$*.sed)"; rm -f $@; exit 1; fi

build/lab/mut/%.o: build/lab/mut/%.c $(HDR)
	$(CC) $(CFLAGS) -I. -c -o $@ $<

build/lab/mut/%.run: build/lab/ex08-test.o build/lab/mut/%.o $(LAB_NOCHAT_O)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/lab/ex08: build/lab/ex08-real $(patsubst %,build/lab/mut/%.run,$(LAB_MUTANTS))
	@touch $@

# ex10: a copy of the HTTP request parser with a bug planted in it.
build/lab/ex10: lab/checks/ex10.c lab/ex10/http_copy.c test/check.h $(LIB_O) $(HDR)
	@mkdir -p build/lab
	$(CC) $(CFLAGS) -o $@ lab/checks/ex10.c lab/ex10/http_copy.c $(LIB_O) $(LDLIBS)

# Everything the checks need, for the self-check to build once.
lab-build: build/lab/wshub build/lab/ex01 build/lab/ex10 $(LAB_UNITS)

# ---- make lab [EX=N] ---------------------------------------------------------
# One line per exercise; exits 0 (it is a progress report). With EX=N,
# one exercise, its whole failure shown, and exit 1 while it is not done.
lab: test/node_modules/.package-lock.json
	@MAKE="$(MAKE)" bash lab/run.sh $(EX)

# ---- the unit suite, relinked --------------------------------------------------
# The same tests as `make unit`, from the same sources and the same
# objects, but each test's own object is compiled once and kept, so a
# patch to chat.c costs a relink of each test rather than a recompile.
# -MMD records every file a test includes: unit_api.c includes api.c
# itself, so a patch to api.c must recompile it.
build/lab/u/%.o: test/%.c test/check.h test/fakehub.h $(HDR)
	@mkdir -p build/lab/u
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(wildcard build/lab/u/*.d)

build/lab/unit/%: build/lab/u/%.o $(LIB_O)
	@mkdir -p build/lab/unit
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

lab-unit: $(LAB_UNITS)
	@for t in $^; do ./$$t > build/lab/unit.log 2>&1 || { tail -20 build/lab/unit.log; echo "lab-unit: $$t failed"; exit 1; }; done

# ---- the lab's self-check (for make test) ---------------------------------------
# In a copy of the tree: every check fails as it stands, and each
# solution turns its own check to done and keeps the unit suite passing.
lab-selfcheck: test/node_modules/.package-lock.json
	@$(MAKE) -s -j2 lab-build
	@MAKE="$(MAKE)" bash lab/selfcheck.sh

# ---- make dev: rebuild and restart on every change ------------------------------
# inotifywait (Debian: inotify-tools) blocks until a file changes; no
# polling loop. DEV_ARGS are passed to ./wshub.
DEV_ARGS ?= --port 8080
dev:
	@MAKE="$(MAKE)" DEV_ARGS="$(DEV_ARGS)" bash lab/dev.sh
