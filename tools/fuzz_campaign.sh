#!/usr/bin/env bash
# Runs every fuzz target to its plateau (issue 19): tools/fuzz_campaign.sh [PLATEAU_CPU_S] [CAP_CPU_S] [TARGET...]
# Each target runs (through tools/fuzz.sh, on its kept corpus) until its coverage (libFuzzer's `cov`) has not grown
# for PLATEAU_CPU_S seconds of the fuzzer's own CPU time (default 600), or until it has used CAP_CPU_S (default
# 1800). CPU time rather than wall time, so a run at low priority beside a build is judged by the work it did.
# One line per run of a target is appended to Fuzz/campaign/results.tsv; a target that reached its plateau there
# is skipped, so the campaign resumes where it was stopped, and a target stopped at the cap goes on from its corpus. Logs: Fuzz/campaign/TARGET.log. Crash inputs: Fuzz/crashes/TARGET.
set -uo pipefail
cd "$(dirname "$0")/.."
plateau=${1:-600}
cap=${2:-1800}
shift 2 2>/dev/null || shift $#
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(coco-instances coco-captions coco-results voc-xml pipeline-yaml safetensors-header
  shard-index jpeg model-config clip-tokenizer clip-tokenizer-folder)
mkdir -p Fuzz/campaign
results=Fuzz/campaign/results.tsv
[ -f "$results" ] || printf 'target\tcpu_s\texecutions\tcov_start\tcov_end\tlast_new_cov_cpu_s\tplateau\tcrashes\tfinished\n' > "$results"
ticks=$(getconf CLK_TCK)

# CPU seconds (user + system) of a process, 0 if it ended
cpu_seconds() { awk -v t="$ticks" '{ print int(($14 + $15) / t) }' "/proc/$1/stat" 2>/dev/null || echo 0; }
latest_cov() { grep -ao 'cov: [0-9]*' "$1" | tail -1 | awk '{ print $2 }'; }

# Build once (a source edit during a campaign must not break its later targets); every target then runs that build.
swift build --package-path Fuzz --scratch-path .build-fuzz -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >&2 \
  || { echo "the fuzz build failed" >&2; exit 1; }
export FUZZ_SKIP_BUILD=1
for target in "${targets[@]}"; do
  if awk -v t="$target" '$1 == t && $7 == "yes" { found = 1 } END { exit !found }' "$results"; then
    echo "$target: reached its plateau already ($results), skipped"; continue
  fi
  log=Fuzz/campaign/$target.log
  crashes_before=$(find "Fuzz/crashes/$target" -maxdepth 1 -type f 2>/dev/null | wc -l)
  touch "$log.started"
  # -max_total_time is a safety net in wall time; the CPU-time rules below stop it first
  nice -n 19 tools/fuzz.sh "$target" 100000 > "$log" 2>&1 &
  wrapper=$!
  fuzzer=""
  for _ in $(seq 600); do
    fuzzer=$(pgrep -f -n "DataEngineFuzz Fuzz/corpus/$target " || true)
    [ -n "$fuzzer" ] && break
    kill -0 $wrapper 2>/dev/null || break
    sleep 1
  done
  if [ -z "$fuzzer" ]; then
    echo "$target: the fuzzer did not start (see $log)"; wait $wrapper; continue
  fi
  cov_start=""; best=0; last_new=0; cpu=0; plateaued=no
  while kill -0 "$fuzzer" 2>/dev/null; do
    sleep 10
    now=$(cpu_seconds "$fuzzer"); [ "$now" -gt 0 ] && cpu=$now
    cov=$(latest_cov "$log"); [ -z "$cov" ] && continue
    if [ -z "$cov_start" ]; then
      cov_start=$(grep -ao 'INITED cov: [0-9]*' "$log" | awk '{ print $3 }'); best=${cov_start:-$cov}; last_new=0
    fi
    if [ "$cov" -gt "$best" ]; then best=$cov; last_new=$cpu; fi
    if [ $((cpu - last_new)) -ge "$plateau" ]; then plateaued=yes; break; fi
    [ "$cpu" -ge "$cap" ] && break
  done
  kill -INT "$fuzzer" 2>/dev/null
  wait $wrapper
  executions=$(grep -ao 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{ print $2 }')
  [ -z "$executions" ] && executions=$(grep -ao '^#[0-9]*' "$log" | tail -1 | tr -d '#')
  # libFuzzer's -timeout and slow-unit report are wall time: a machine paused between sessions (or a fuzzer stopped
  # with SIGSTOP while a benchmark runs) leaves a "timeout" or "slow unit" that is not one. Each new such input is
  # replayed once; one that runs clean within 10 s is moved to Fuzz/crashes/TARGET/not-reproduced/.
  mkdir -p "Fuzz/crashes/$target/not-reproduced"
  for input in "Fuzz/crashes/$target"/timeout-* "Fuzz/crashes/$target"/slow-unit-*; do
    [ -f "$input" ] && [ "$input" -nt "$log.started" ] || continue
    if DATAENGINE_FUZZ_TARGET=$target timeout 60 .build-fuzz/debug/DataEngineFuzz -timeout=10 "$input" > /dev/null 2>&1; then
      mv "$input" "Fuzz/crashes/$target/not-reproduced/"
      echo "$target: $(basename "$input") ran clean on replay (wall-clock time from a paused machine), set aside"
    fi
  done
  crashes=$(( $(find "Fuzz/crashes/$target" -maxdepth 1 -type f | wc -l) - crashes_before ))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$cpu" "${executions:-0}" "${cov_start:-?}" "$best" "$last_new" \
    "$plateaued" "$crashes" "$(date -u +%FT%TZ)" >> "$results"
  echo "$target: $cpu CPU-s, ${executions:-0} executions, cov $cov_start -> $best (last new at $last_new CPU-s), plateau $plateaued, $crashes new crash inputs"
done
