#!/usr/bin/env bash
# Builds scripts/spikes/kernels.wasm from kernels.c with Debian's clang + lld (apt-get install -y clang lld).
# --import-memory: the module has no memory of its own; the caller passes tfjs-backend-wasm's.
set -euo pipefail
cd "$(dirname "$0")"
clang --target=wasm32 -O3 -msimd128 -nostdlib -ffreestanding \
  -Wl,--no-entry -Wl,--import-memory -Wl,--strip-all -o kernels.wasm kernels.c
# The module writes into tfjs's heap, so it must have no data segments and never touch a shadow stack.
if llvm-objdump -h kernels.wasm | grep -qw DATA; then echo "kernels.wasm has a data section" >&2; exit 1; fi
if llvm-objdump -d kernels.wasm | grep -qE 'global\.(get|set)'; then echo "kernels.wasm uses a shadow stack" >&2; exit 1; fi
echo "built $(pwd)/kernels.wasm"
# The same kernels for the threaded-SIMD build, whose memory is a shared WebAssembly.Memory.
clang --target=wasm32 -O3 -msimd128 -matomics -mbulk-memory -nostdlib -ffreestanding \
  -Wl,--no-entry -Wl,--import-memory -Wl,--shared-memory -Wl,--max-memory=4294967296 -Wl,--strip-all \
  -o kernels-shared.wasm kernels.c
if llvm-objdump -h kernels-shared.wasm | grep -qw DATA; then echo "kernels-shared.wasm has a data section" >&2; exit 1; fi
if llvm-objdump -d kernels-shared.wasm | grep -qE 'global\.(get|set)'; then echo "kernels-shared.wasm uses a shadow stack" >&2; exit 1; fi
echo "built $(pwd)/kernels-shared.wasm"
