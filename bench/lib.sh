# Shared by the bench scripts (sourced, not run): waiting for a port, reading /proc, medians and
# wrk's latency units.

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "bench: nothing listens on $1" >&2
  exit 1
}
# A /proc/PID/status field in KiB (VmRSS, VmHWM).
rss_kb() { awk "/^$2:/ {print \$2}" "/proc/$1/status"; }
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR + 1) / 2)]}'; }
to_us() { awk '{v=$1; u=v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v); f=(u=="ms")?1000:(u=="s")?1000000:1; printf "%.0f\n", v*f}'; }
