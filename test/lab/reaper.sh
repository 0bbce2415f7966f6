#!/usr/bin/env bash
# reaper.sh FIFO RUNDIR LOG: the command launcher that runs under `tini -s` (see spawn in lib.sh).
# Each line "ID<TAB>COMMAND" read from FIFO is run with bash in its own session; its exit code is
# written to RUNDIR/spawn.ID.rc. Daemons fork away from it and are then reaped by tini.
set -uo pipefail
fifo=$1 rundir=$2 logfile=$3

# Open read-write: a FIFO opened only for reading sees EOF each time a writer closes it.
exec 3<>"$fifo"
while IFS=$'\t' read -r id cmd <&3; do
  [ -n "$id" ] || continue
  (
    setsid bash -c "$cmd" </dev/null >>"$logfile" 2>&1
    echo $? > "$rundir/spawn.$id.rc.tmp"
    mv "$rundir/spawn.$id.rc.tmp" "$rundir/spawn.$id.rc"    # appear atomically
  ) &
done
