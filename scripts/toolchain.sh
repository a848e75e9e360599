#!/usr/bin/env bash
# Sets up everything Lakeline's build needs, idempotently, and writes the environment the
# Makefile uses to target/toolchain.env.
#
# The wasm32 route is chosen in this order:
#   1. the active Rust toolchain already has the wasm32-unknown-unknown std  -> use it as is;
#   2. `rustup target add wasm32-unknown-unknown` works (bounded in time)    -> use it;
#   3. otherwise (an offline machine whose rustup cannot download): Debian's rustc-web, cargo-web
#      and rust-web-src (1.96), std for wasm32 built from source with -Zbuild-std, linked with the
#      rust-lld of the rustup toolchain. See ../shared/toolchain.md for the measurements behind it.
#
# cargo-leptos and a wasm-bindgen-cli equal to the wasm-bindgen in Cargo.lock are built once
# (fast profile) into $LAKELINE_TOOLS (default ~/.cache/lakeline/tools) and reused afterwards.
# Nothing is downloaded from outside the package registries.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools=${LAKELINE_TOOLS:-$HOME/.cache/lakeline/tools}
envfile="$root/target/toolchain.env"
mkdir -p "$tools/bin" "$root/target"

say() { printf '[toolchain] %s\n' "$*" >&2; }

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi
}

apt_updated=0
apt_install() {
  # apt_install [apt-get options...] packages...
  if [ "$apt_updated" -eq 0 ]; then
    sudo_if_needed apt-get update -q >&2
    apt_updated=1
  fi
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2
}

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

host=$(rustc -vV | sed -n 's/^host: //p')
wasm_libdir=$(rustc --print target-libdir --target wasm32-unknown-unknown 2>/dev/null || true)

route=${LAKELINE_WASM_ROUTE:-}
if [ -n "$route" ]; then
  : # forced by the caller (installed | rustup | debian)
elif [ -n "$wasm_libdir" ] && ls "$wasm_libdir"/libstd-*.rlib >/dev/null 2>&1; then
  route=installed
elif command -v rustup >/dev/null && timeout 45 rustup target add wasm32-unknown-unknown >&2 2>/dev/null; then
  route=rustup
else
  route=debian
fi
say "wasm32 route: $route"

ensure_debian_rust() {
  if ! { have_pkg rustc-web && have_pkg cargo-web && have_pkg rust-web-src; }; then
    say "installing Debian rustc-web, cargo-web, rust-web-src"
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    apt_install -t "${codename}-security" rustc-web cargo-web rust-web-src
  fi
}

# The project's own cargo (and the cargo-leptos builds) and the cargo that installs the tools.
cargo_bin=cargo
tool_env=(env)
lib_cargo_args=""
extra_env="export PATH=$tools/bin:\$PATH"
if [ "$route" = debian ]; then
  ensure_debian_rust
  rust_lld="$(rustc --print sysroot)/lib/rustlib/$host/bin/rust-lld"
  if [ ! -x "$rust_lld" ]; then
    say "no rust-lld at $rust_lld: the rustup toolchain is needed to link wasm32"
    exit 1
  fi
  cargo_bin=/usr/bin/cargo
  tool_env=(env PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc)
  lib_cargo_args="-Zbuild-std=std,panic_abort"
  extra_env="export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=$rust_lld
export PATH=$tools/bin:/usr/bin:\$PATH"
fi

# cargo-leptos' lock file needs rustc 1.96. An older rustup toolchain installs the tools with
# Debian's 1.96 where apt has it.
minor=$("$cargo_bin" --version | sed -E 's/^cargo 1\.([0-9]+).*/\1/')
if [ "$minor" -lt 96 ] && command -v apt-get >/dev/null; then
  ensure_debian_rust
  tool_cargo=/usr/bin/cargo
  tool_env=(env PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc)
else
  tool_cargo=$cargo_bin
fi
fast_profile=("${tool_env[@]}" CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
  CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_OPT_LEVEL=2)

leptos_version=0.3.11
if ! "$tools/bin/cargo-leptos" --version 2>/dev/null | grep -q "$leptos_version"; then
  say "building cargo-leptos $leptos_version (once; cached in $tools)"
  "${fast_profile[@]}" "$tool_cargo" install cargo-leptos --version "=$leptos_version" --locked --root "$tools" >&2
fi

# wasm-bindgen-cli must equal the wasm-bindgen that Cargo.lock resolved.
if [ ! -f "$root/Cargo.lock" ]; then (cd "$root" && "$cargo_bin" generate-lockfile >&2); fi
wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$root/Cargo.lock")
if [ -z "$wb_version" ]; then say "no wasm-bindgen in Cargo.lock"; exit 1; fi
if ! "$tools/bin/wasm-bindgen" --version 2>/dev/null | grep -q " $wb_version\$"; then
  say "building wasm-bindgen-cli $wb_version (once; cached in $tools)"
  "${fast_profile[@]}" "$tool_cargo" install wasm-bindgen-cli --version "=$wb_version" --root "$tools" --force >&2
fi

# wasm-opt, which cargo-leptos runs on release builds: Debian's binaryen (108) is older than what
# rustc emits; the npm package binaryen ships a current one (a Node.js program). Without one on
# PATH, cargo-leptos would try to download it from GitHub.
binaryen_version=132.0.0
if ! "$tools/bin/wasm-opt" --version 2>/dev/null | grep -q "version_${binaryen_version%%.*}"; then
  if command -v npm >/dev/null; then
    say "installing wasm-opt (npm binaryen $binaryen_version; once; cached in $tools)"
    npm install --silent --no-audit --no-fund --prefix "$tools/binaryen" "binaryen@$binaryen_version" >&2
    ln -sf "$tools/binaryen/node_modules/binaryen/bin/wasm-opt" "$tools/bin/wasm-opt"
  else
    say "npm is missing: release builds will not run wasm-opt"
  fi
fi

cat >"$envfile" <<EOF
# Written by scripts/toolchain.sh (route: $route). Sourced by the Makefile.
$extra_env
export LAKELINE_LIB_CARGO_ARGS="$lib_cargo_args"
export LAKELINE_TOOLCHAIN_ROUTE=$route
EOF
say "ready: $envfile"
