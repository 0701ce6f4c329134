#!/usr/bin/env bash
# Builds src/backend/simd/matmul.wasm from matmul.c with Debian's clang + lld (apt-get install -y clang lld).
# The .wasm is committed (a fresh clone needs no compiler); test/unit/simd-matmul.test.ts rebuilds it when
# clang is installed and checks the committed file is what this script makes.
# --import-memory: the module has no memory of its own; the loader passes tfjs-backend-wasm's.
set -euo pipefail
out="${1:-$(dirname "$0")/../src/backend/simd/matmul.wasm}"
src="$(dirname "$0")/../src/backend/simd/matmul.c"
clang --target=wasm32 -O3 -msimd128 -nostdlib -ffreestanding \
  -Wl,--no-entry -Wl,--import-memory -Wl,--strip-all -o "$out" "$src"
# The module writes into tfjs's heap, so it must have no data segments and never touch a shadow stack.
if llvm-objdump -h "$out" | grep -qw DATA; then echo "$out has a data section" >&2; exit 1; fi
if llvm-objdump -d "$out" | grep -qE 'global\.(get|set)'; then echo "$out uses a shadow stack" >&2; exit 1; fi
echo "built $out"
