#!/usr/bin/env bash
# GPU check for the CUDA backend, on a machine with an NVIDIA GPU and no Go
# toolchain: runs prebuilt static binaries and prints the Backend contract
# results and the CPU-vs-GPU benchmark table.
#
# 1. On a Go machine (no GPU, no OpenCV, no CUDA toolkit needed):
#        scripts/gpu-check.sh --build        # writes bin/gpu/fuse.test
# 2. Copy the checkout (or just scripts/ and bin/gpu/) to the GPU machine and run:
#        scripts/gpu-check.sh [OUTDIR]       # needs only the NVIDIA driver and NVRTC
#
# Exit status: non-zero when the contract fails on the GPU.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=bin/gpu

if [ "${1:-}" = "--build" ]; then
  mkdir -p "$bin"
  CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go test -c -o "$bin/fuse.test" ./fuse
  echo "built $bin/fuse.test"
  exit 0
fi
out=${1:-$bin/results}
mkdir -p "$out"

echo "== GPU"
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1 | tee "$out/gpu.txt"
# NVRTC loads its builtins library from its own directory: make that findable.
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-*/lib64 \
         /usr/local/cuda-*/targets/x86_64-linux/lib /usr/local/lib/python3*/dist-packages/nvidia/cuda_nvrtc/lib; do
  [ -d "$d" ] && LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}"
echo "libraries: $(ldconfig -p 2>/dev/null | grep -oE 'lib(cuda|nvrtc)\.so[.0-9]*' | sort -u | tr '\n' ' ')"

echo "== Backend contract on the GPU (FUSIOND_REQUIRE_CUDA=1: no skipping)"
FUSIOND_REQUIRE_CUDA=1 "$bin/fuse.test" -test.run 'Contract|CUDA|BackendSelection' -test.v -test.count=1 > "$out/contract.txt" 2>&1
status=$?
grep -E '^(--- |ok|PASS|FAIL)|cpu_test.go|contract.go' "$out/contract.txt" | grep -v '^=== ' | head -60

echo "== Benchmark: one pipeline tick (motion grids, STFT power, log-mel, GCC-PHAT, fusion head)"
# Backend: the operations one call each; Tick: the daemon's two calls (Compute, head), the CPU
# backend on one core and on every core, and CUDA.
"$bin/fuse.test" -test.run '^$' -test.bench 'Backend|Tick' -test.benchtime "${BENCHTIME:-3s}" -test.count=1 > "$out/bench.txt" 2>&1
grep -E '^Benchmark' "$out/bench.txt"
awk '/^BenchmarkBackend\// {
       split($1, p, "/"); sub(/-[0-9]+$/, "", p[3]); t[p[2] "/" p[3]] = $3; w[p[3]] = 1
     }
     END {
       printf "\n%-22s %14s %14s %9s\n", "workload", "cpu ms/tick", "cuda ms/tick", "speed-up"
       for (k in w) if (("cpu/" k) in t && ("cuda/" k) in t)
         printf "%-22s %14.3f %14.3f %8.1fx\n", k, t["cpu/" k]/1e6, t["cuda/" k]/1e6, t["cpu/" k]/t["cuda/" k]
     }' "$out/bench.txt" | tee "$out/table.txt"
awk '/^BenchmarkTick\// {
       split($1, p, "/"); sub(/-[0-9]+$/, "", p[3]); t[p[2] "/" p[3]] = $3; w[p[3]] = 1
     }
     END {
       printf "\n%-22s %12s %12s %12s %9s %9s\n", "tick (Compute+head)", "1 core ms", "all cores ms", "cuda ms", "cores x", "cuda x"
       for (k in w) if (("cpu/" k) in t && ("cuda/" k) in t)
         printf "%-22s %12.3f %12.3f %12.3f %8.1fx %8.1fx\n", k, t["cpu-1core/" k]/1e6, t["cpu/" k]/1e6, t["cuda/" k]/1e6,
           t["cpu-1core/" k]/t["cpu/" k], t["cpu/" k]/t["cuda/" k]
     }' "$out/bench.txt" | tee -a "$out/table.txt"
exit $status
