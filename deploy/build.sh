#!/bin/sh
# Builds the deployable app into $1: the playground (the zero-shot block, auth installed but off
# unless AUTH_ENABLED=true) with production dependencies only. The Dockerfile's build stage runs
# exactly this, and CI runs it in a clean folder (deploy/check-build.sh) where no container engine runs.
set -eu
out=${1:?usage: deploy/build.sh OUT_DIR}
export ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip CI=true
pnpm install --frozen-lockfile
pnpm build
# A self-contained folder: the app, and in its node_modules its production dependencies, the
# workspace packages (@mlblocks/core, @mlblocks/auth) copied in as built. No dev dependencies.
pnpm --filter @mlblocks/playground deploy --prod --legacy "$out"
