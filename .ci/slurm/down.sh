#!/usr/bin/env bash
# Stop what up.sh started in DIR, by PID file: slurmd first, then the controller and the
# databases; SIGKILL whatever is still alive after 15 s (slurmd can ignore SIGTERM while it
# retries registration). A zombie (state Z) counts as dead: CI's PID 1 may not reap.
D=${1:-/tmp/aios-slurm}
alive() {
  local p
  p=$(cat "$1" 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null \
    && [ "$(ps -o stat= -p "$p" | cut -c1)" != Z ]
}
stop() {  # stop PIDFILE...: SIGTERM, wait, then SIGKILL
  local f k any
  for f in "$@"; do alive "$f" && kill "$(cat "$f")" 2>/dev/null; done
  for k in $(seq 1 60); do
    any=0
    for f in "$@"; do alive "$f" && any=1; done
    [ $any = 0 ] && return 0
    sleep 0.25
  done
  for f in "$@"; do alive "$f" && kill -9 "$(cat "$f")" 2>/dev/null; done
  return 0
}
shopt -s nullglob
# Cancel the jobs first: their slurmstepd processes outlive slurmd and have no PID file.
if [ -f "$D/etc/slurm.conf" ] && alive "$D/run/slurmctld.pid"; then
  export SLURM_CONF=$D/etc/slurm.conf
  timeout 5 squeue -h -o %A 2>/dev/null | xargs -r timeout 5 scancel >/dev/null 2>&1 || true
  for k in $(seq 1 20); do
    [ -z "$(timeout 2 squeue -h -t RUNNING,COMPLETING 2>/dev/null)" ] && break
    sleep 0.25
  done
fi
stop "$D"/run/slurmd-*.pid
stop "$D/run/slurmctld.pid"
stop "$D/run/slurmdbd.pid"
stop "$D/run/mysql.pid" "$D/run/munged.pid"
exit 0
