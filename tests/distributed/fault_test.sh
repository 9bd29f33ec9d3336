#!/usr/bin/env bash
# A rank that dies ends the whole job: mpirun -np 2 fault_mpi trains, rank 0 checkpointing every
# epoch; then (1) rank 1 is killed with SIGKILL mid-epoch, (2) rank 1 exits with status 3 without
# finalizing MPI. Each time both ranks must be gone within 30 s, mpirun's status must be non-zero,
# no process of the job may be left, and the last checkpoint must load (with its optimizer).
# Usage: fault_test.sh MPIRUN_COMMAND... FAULT_MPI_PROGRAM (the launcher's words, then the program).
set -uo pipefail
program=${*: -1}
launcher=("${@:1:$#-1}")
work=$(mktemp -d "${TMPDIR:-/tmp}/minidnn-fault.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0

# Running (a zombie, dead but not yet reaped by the container's init, counts as gone).
alive() { [[ -e /proc/$1 ]] && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }

scenario() {  # name, then what to do to rank 1 ("kill" or "exit")
  local name=$1 how=$2 dir="$work/$1"
  mkdir -p "$dir"
  if [[ $how == exit ]]; then FAULT_EXIT_RANK=1 "${launcher[@]}" "$program" "$dir" >"$dir/log" 2>&1 &
  else "${launcher[@]}" "$program" "$dir" >"$dir/log" 2>&1 & fi
  local job=$! waited=0
  until [[ -f $dir/rank0.pid && -f $dir/rank1.pid ]]; do
    sleep 0.1; waited=$((waited + 1))
    if ((waited > 600)) || ! kill -0 "$job" 2>/dev/null; then
      echo "FAIL $name: the job did not start training (log below)"; cat "$dir/log"; kill -9 "$job" 2>/dev/null
      failures=$((failures + 1)); return
    fi
  done
  local rank0 rank1 start
  rank0=$(cat "$dir/rank0.pid"); rank1=$(cat "$dir/rank1.pid")
  start=$(date +%s.%N)
  [[ $how == kill ]] && kill -9 "$rank1"
  local tenths=0
  while { kill -0 "$job" || alive "$rank0" || alive "$rank1"; } 2>/dev/null && ((tenths < 300)); do
    sleep 0.1; tenths=$((tenths + 1))
  done
  local seconds; seconds=$(echo "$(date +%s.%N) - $start" | bc)
  if kill -0 "$job" 2>/dev/null; then
    echo "FAIL $name: mpirun still running 30 s after the fault"; kill -9 "$job" "$rank0" "$rank1" 2>/dev/null
    failures=$((failures + 1)); return
  fi
  wait "$job"; local status=$?
  local left=""
  for pid in "$rank0" "$rank1"; do alive "$pid" && left+=" $pid"; done
  echo "$name: every process gone ${seconds} s after the fault, mpirun status $status"
  if ((status == 0)); then echo "FAIL $name: mpirun exited 0"; failures=$((failures + 1)); fi
  if [[ -n $left ]]; then echo "FAIL $name: processes left:$left"; kill -9 $left; failures=$((failures + 1)); fi
  if ! "$program" --check "$dir/checkpoint.mdnn"; then echo "FAIL $name: the checkpoint does not load"; failures=$((failures + 1)); fi
  grep -m3 -iE "rank|signal|exited|status" "$dir/log" | sed "s/^/  $name log: /"
}

scenario killed kill
scenario exited exit
if ((failures)); then echo "fault test: $failures failure(s)"; exit 1; fi
echo "fault test: passed"
