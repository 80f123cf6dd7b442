# wshub -- build, run and test. `make help` lists the targets.
CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -Wpedantic
LDLIBS  := -lcrypto
SAN     := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

SRC     := server.c ws.c http.c
HDR     := ws.h http.h
LIB     := ws.c http.c
UNITS   := unit_ws unit_http

.PHONY: all run test unit integration asan clean help

all: wshub

wshub: $(SRC) $(HDR)
	$(CC) $(CFLAGS) -o $@ $(SRC) $(LDLIBS)

run: wshub
	./wshub --port 8080

help:
	@echo "make          build ./wshub"
	@echo "make run      build, then serve www/ on http://localhost:8080"
	@echo "make test     unit tests, integration tests, and both again under ASan+UBSan"
	@echo "make asan     only the sanitizer run"
	@echo "make clean    remove what the build made"

# ---- tests -----------------------------------------------------------------
# Unit tests link the pure parsers straight in; no sockets involved.
build/%: test/%.c test/check.h $(LIB) $(HDR)
	@mkdir -p build
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

build/asan/%: test/%.c test/check.h $(LIB) $(HDR)
	@mkdir -p build/asan
	$(CC) $(CFLAGS) $(SAN) -o $@ $< $(LIB) $(LDLIBS)

build/asan/wshub: $(SRC) $(HDR)
	@mkdir -p build/asan
	$(CC) $(CFLAGS) $(SAN) -o $@ $(SRC) $(LDLIBS)

# Real peers (ws, playwright-core) come from the lockfile, exactly.
test/node_modules/.package-lock.json: test/package-lock.json
	cd test && npm ci --no-audit --no-fund
	@touch $@

unit: $(addprefix build/,$(UNITS))
	@for t in $^; do ./$$t || exit 1; done

integration: wshub test/node_modules/.package-lock.json
	cd test && WSHUB_BIN=../wshub node --test --test-concurrency=2 *.test.js

asan: $(addprefix build/asan/,$(UNITS)) build/asan/wshub test/node_modules/.package-lock.json
	@for t in $(addprefix build/asan/,$(UNITS)); do ./$$t || exit 1; done
	cd test && WSHUB_BIN=../build/asan/wshub ASAN_OPTIONS=detect_leaks=1 \
	  node --test --test-concurrency=2 *.test.js

test: unit integration asan

clean:
	rm -rf wshub build
