#!/usr/bin/env bash
# Data parallelism across hosts, on one machine: two network namespaces joined by a veth pair act
# as two hosts (each with its own hostname, through a UTS namespace), Open MPI's launcher reaches
# the second one through `ip netns exec` instead of ssh (plm_rsh_agent), and the ranks talk over
# TCP only (btl tcp,self: no shared memory between the "hosts"). The program run across them is
# test_distributed_data_parallel, whose ranks check their training against one process's. The
# veth byte counters show that the traffic went through the link. Needs root (ip netns);
# otherwise it is skipped (exit 77) saying why.
# Usage: two_hosts_test.sh MPIRUN PROGRAM
set -uo pipefail
mpirun=$1 program=$2
if [[ $(id -u) != 0 ]] || ! command -v ip >/dev/null || ! command -v unshare >/dev/null; then
  echo "two hosts: skipped: needs root, ip (iproute2) and unshare (util-linux)"; exit 77
fi
a=mdnn$$a b=mdnn$$b net=10.254.17
work=$(mktemp -d "${TMPDIR:-/tmp}/minidnn-hosts.XXXXXX")
cleanup() { ip netns delete "$a" 2>/dev/null; ip netns delete "$b" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
if ! ip netns add "$a" 2>"$work/err" || ! ip netns add "$b" 2>>"$work/err"; then
  echo "two hosts: skipped: cannot create network namespaces here: $(cat "$work/err")"; exit 77
fi
skip() { echo "two hosts: skipped: $1 failed here (the container does not allow it)"; exit 77; }
ip link add "v$a" type veth peer name "v$b" || skip "creating a veth pair"
{ ip link set "v$a" netns "$a" && ip link set "v$b" netns "$b"; } || skip "moving the veth ends into the namespaces"
{ ip netns exec "$a" ip addr add $net.1/24 dev "v$a" && ip netns exec "$b" ip addr add $net.2/24 dev "v$b"; } ||
  skip "giving the veth ends addresses"
for ns in "$a" "$b"; do
  { ip netns exec "$ns" ip link set lo up && ip netns exec "$ns" ip link set "v$ns" up; } || skip "bringing the links up"
done

# The launcher's "ssh": agent [options] HOST COMMAND... runs COMMAND in HOST's namespace.
cat >"$work/agent" <<AGENT
#!/bin/sh
while [ \$# -gt 0 ]; do case \$1 in -*) shift ;; *) break ;; esac; done
host=\$1; shift
case \$host in $net.1) ns=$a ;; $net.2) ns=$b ;; *) echo "agent: unknown host \$host" >&2; exit 1 ;; esac
exec ip netns exec \$ns unshare --uts sh -c "hostname \$ns; \$*"
AGENT
chmod +x "$work/agent"
bytes() { ip netns exec "$a" cat "/sys/class/net/v$a/statistics/tx_bytes"; }
before=$(bytes)
ip netns exec "$a" unshare --uts sh -c "hostname $a; exec timeout 90 $mpirun --allow-run-as-root \
  --host $net.1:1,$net.2:1 -np 2 --mca plm_rsh_agent $work/agent --mca btl tcp,self \
  --mca btl_tcp_if_include $net.0/24 --mca oob_tcp_if_include $net.0/24 \
  sh -c 'echo rank \$OMPI_COMM_WORLD_RANK on host \$(hostname); exec $program'" >"$work/log" 2>&1
status=$?
sent=$(( $(bytes) - before ))
cat "$work/log"
echo "two hosts: mpirun status $status, $sent bytes sent from $a to $b over the veth pair"
grep -q "rank 1 on host $b" "$work/log" || { echo "FAIL: rank 1 did not run in namespace $b"; exit 1; }
grep -q "rank 0 on host $a" "$work/log" || { echo "FAIL: rank 0 did not run in namespace $a"; exit 1; }
((status == 0)) || { echo "FAIL: the training across the two hosts failed"; exit 1; }
((sent > 10000)) || { echo "FAIL: only $sent bytes crossed the link"; exit 1; }
echo "two hosts: passed"
