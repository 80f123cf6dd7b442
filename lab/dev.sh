#!/usr/bin/env bash
# lab/dev.sh -- make dev: rebuild and restart the server whenever a source file or www/ changes
# SPDX-License-Identifier: MIT
#
# What nodemon does for a Node server, for this C one: build with make,
# start the server with $DEV_ARGS (default --port 8080), then block in
# inotifywait (Debian's inotify-tools: the kernel's inotify, so no
# polling loop and no sleep) until a .c or .h file, the Makefile,
# client/ or www/ changes;
# then stop the server (SIGTERM: it closes every connection properly),
# build again and start again. A build that fails is shown, and the next
# change tries again. Ctrl-C stops it all.
#
# The server is the lab's build of it, build/lab/wshub (lab/lab.mk): the
# same sources compiled one object per file, so a change to one file
# costs one compile and a link, about a second, not the ten of ./wshub.
#
# Named simplification: a change saved while make is running is seen
# only with the next one, since inotifywait is started after the build.
# (www/ is served from disk, so a page change needs no rebuild; the
# restart is what makes an open page reconnect and reload its script.)
set -u
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
read -r -a args <<< "${DEV_ARGS:---port 8080}"

if ! command -v inotifywait > /dev/null; then
    echo "make dev needs inotifywait, from Debian's inotify-tools:" >&2
    echo "    sudo apt-get install inotify-tools" >&2
    exit 1
fi

server=
stop_server() {
    if [ -n "$server" ] && kill -0 "$server" 2> /dev/null; then
        kill -TERM "$server"
        wait "$server" 2> /dev/null
    fi
    server=
}
trap 'stop_server; exit 0' INT TERM
trap stop_server EXIT

# What counts as a change: sources at the top, the Makefile and the lab's
# rules, the compiled-in clients, the pages. (Not ./wshub or build/,
# which builds write.)
watch='(^\./[^/]*\.[ch]$|^\./Makefile$|^lab/lab\.mk$|^client/|^www/)'

while :; do
    echo "make dev: building"
    if $MAKE -s build/lab/wshub; then
        build/lab/wshub "${args[@]}" &
        server=$!
        echo "make dev: build/lab/wshub ${args[*]} is pid $server; watching for changes (Ctrl-C to stop)"
    else
        echo "make dev: the build failed; fix it and save again"
    fi
    # The four folders, not recursively: build/ and test/node_modules
    # would cost thousands of watches.
    changed=$(inotifywait -q -e close_write,moved_to,create,delete --format '%w%f' \
        --include "$watch" . www client lab 2>/dev/null)
    echo "make dev: $changed changed"
    stop_server
done
