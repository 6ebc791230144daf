#!/usr/bin/env bash
# Fetches libmujoco.so.3.17.0 (the version mujoco-rs 7.0.0 is bound to) from the official
# mujoco==3.17.0 manylinux wheel on PyPI, without installing Python packages: the .so needs only
# libc/libm/libdl/libpthread/librt. Idempotent; prints the environment for the `mujoco` feature.
#
#   eval "$(scripts/setup-mujoco.sh --env)"    # export the variables in this shell
#   cargo test --release --features mujoco --test mujoco_envs
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=3.17.0
DIR="$PWD/target/mujoco"
LIB="$DIR/libmujoco.so.$VERSION"

if [ ! -s "$LIB" ]; then
    mkdir -p "$DIR/wheel"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        --platform manylinux_2_28_x86_64 --python-version 3.11 "mujoco==$VERSION" -d "$DIR/wheel" >&2
    WHEEL="$(ls "$DIR"/wheel/mujoco-"$VERSION"-*.whl | head -n1)"
    python3 - "$WHEEL" "$DIR" "$VERSION" <<'PY'
import sys, zipfile, os
wheel, out, version = sys.argv[1:]
name = f"mujoco/libmujoco.so.{version}"
with zipfile.ZipFile(wheel) as z:
    data = z.read(name)
tmp = os.path.join(out, f"libmujoco.so.{version}.tmp")
with open(tmp, "wb") as f:
    f.write(data)
os.replace(tmp, os.path.join(out, f"libmujoco.so.{version}"))
PY
    rm -rf "$DIR/wheel"
fi
ln -sfn "libmujoco.so.$VERSION" "$DIR/libmujoco.so"

if [ "${1:-}" = "--env" ]; then
    echo "export MUJOCO_DYNAMIC_LINK_DIR='$DIR'"
    echo "export LD_LIBRARY_PATH='$DIR'\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
else
    echo "libmujoco $VERSION is in $DIR. For \`--features mujoco\`, export:" >&2
    echo "  export MUJOCO_DYNAMIC_LINK_DIR='$DIR'" >&2
    echo "  export LD_LIBRARY_PATH='$DIR'\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" >&2
    echo "(build.rs also embeds $DIR as an rpath in koopman's binaries and tests)" >&2
    echo "or simply: eval \"\$(scripts/setup-mujoco.sh --env)\"" >&2
fi
