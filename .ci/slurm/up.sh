#!/usr/bin/env bash
# Start a single-host Slurm 22.05 test cluster (munge, MariaDB, slurmdbd, slurmctld, 4 slurmd) in
# DIR (default /tmp/aios-slurm) as root. Every daemon writes a PID file under DIR/run so that
# down.sh can stop exactly what this started. Prints `export SLURM_CONF=...` on success.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
D=${1:-/tmp/aios-slurm}
NODES=4
mkdir -p "$D"/{etc,spool/ctld,log,run,dev,munge}
chmod 755 "$D"  # munged runs as user munge and must reach its PID file
D=$(cd "$D" && pwd)
chmod 755 "$D/run"
for i in 0 1 2 3; do ln -sf /dev/null "$D/dev/nvidia$i"; done
for f in slurm.conf gres.conf topology.conf slurmdbd.conf; do
  sed "s|@DIR@|$D|g" "$HERE/$f.in" > "$D/etc/$f"
done
chmod 600 "$D/etc/slurmdbd.conf"  # slurmdbd refuses a readable file with a password
export SLURM_CONF=$D/etc/slurm.conf

wait_for() {  # wait_for SECONDS COMMAND...: poll every 0.25 s until COMMAND succeeds
  local end=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.25
  done
}

# munge: the key comes from the package's postinst; create one if it is missing.
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge "$D/munge"
if [ ! -f /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
fi
runuser -u munge -- /usr/sbin/munged --pid-file="$D/munge/munged.pid"
ln -sf "$D/munge/munged.pid" "$D/run/munged.pid"

# MariaDB in a scratch data directory on 127.0.0.1:3307, for slurmdbd.
if [ ! -d "$D/db/mysql" ]; then
  mariadb-install-db --no-defaults --datadir="$D/db" --user=root --auth-root-authentication-method=normal >"$D/log/dbinit.log" 2>&1
fi
(mariadbd --no-defaults --datadir="$D/db" --user=root --socket="$D/run/mysql.sock" --port=3307 \
  --bind-address=127.0.0.1 --pid-file="$D/run/mysql.pid" --skip-log-bin >"$D/log/mariadb.log" 2>&1 &)
wait_for 30 mariadb-admin --socket="$D/run/mysql.sock" ping || { tail -5 "$D/log/mariadb.log"; exit 1; }
mariadb --socket="$D/run/mysql.sock" -uroot -e \
  "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmpw'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"

slurmdbd  # reads slurmdbd.conf next to $SLURM_CONF
wait_for 30 timeout 2 sacctmgr -n show cluster || { tail -5 "$D/log/slurmdbd.log"; exit 1; }
timeout 10 sacctmgr -i add cluster aios >/dev/null || true   # already there on a restart
timeout 10 sacctmgr -i add account teama fairshare=3 >/dev/null || true
timeout 10 sacctmgr -i add account teamb fairshare=1 >/dev/null || true
timeout 10 sacctmgr -i add user root account=teama,teamb defaultaccount=teama >/dev/null || true

slurmctld -f "$SLURM_CONF"
ctld_up() { timeout 2 scontrol ping | grep -q UP; }
wait_for 30 ctld_up || { tail -5 "$D/log/slurmctld.log"; exit 1; }
for i in $(seq 1 $NODES); do
  mkdir -p "$D/spool/d/node$i"
  slurmd -f "$SLURM_CONF" -N "node$i"
done
all_idle() { [ "$(timeout 2 sinfo -h -N -p gpu -o %T | grep -c '^idle$')" = "$NODES" ]; }
wait_for 60 all_idle || { timeout 5 sinfo -N -o '%N %T %E'; exit 1; }
echo "export SLURM_CONF=$SLURM_CONF"
