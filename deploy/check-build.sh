#!/usr/bin/env bash
# Where no container engine can run (these CI machines: see docs/deployment.md), checks that the
# Dockerfile's build steps work: the committed files only, in a clean folder, through the same
# deploy/build.sh the Dockerfile runs; then that the result has no dev dependency, and that it
# starts as the image's CMD starts it and answers /healthz.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

grep -q '^RUN sh deploy/build.sh /app$' "$root/Dockerfile" || { echo "check-build: the Dockerfile no longer runs deploy/build.sh /app; update this check with it" >&2; exit 1; }
cmd=$(sed -n 's/^CMD \["node", "\(.*\)", "start"\]$/\1/p' "$root/Dockerfile")
[ -n "$cmd" ] || { echo "check-build: cannot read the Dockerfile's CMD" >&2; exit 1; }

# What `COPY . .` copies, less .dockerignore's folders: the committed files.
(cd "$root" && git ls-files -z | tar --null -T - -cf -) | tar -C "$work" -xf -
(cd "$work" && sh deploy/build.sh "$work/app" > "$work/build.log" 2>&1) || { tail -n 40 "$work/build.log"; exit 1; }

for dev in vitest typescript drizzle-kit turbo playwright-core fast-check; do
  if ls "$work/app/node_modules/.pnpm" | grep -q "^${dev}@"; then echo "check-build: dev dependency $dev is in the image's node_modules" >&2; exit 1; fi
done
[ -f "$work/app/node_modules/@mlblocks/core/dist/cli.js" ] && [ -f "$work/app/node_modules/@mlblocks/auth/dist/index.js" ] || { echo "check-build: core or auth not built into the app" >&2; exit 1; }

port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
(cd "$work/app" && exec env -i PATH="$PATH" NODE_ENV=production HOST=127.0.0.1 PORT="$port" LOG_FORMAT=json MLBLOCKS_OFFLINE=1 \
  MLBLOCKS_DATA_DIR="$work/data" MLBLOCKS_MODELS_DIR="$work/data/models" node "$cmd" start > "$work/run.log" 2>&1) &
pid=$!
for _ in $(seq 1 60); do
  if node -e "fetch('http://127.0.0.1:$port/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then
    kill -TERM "$pid"; wait "$pid" && status=0 || status=$?
    pid=
    [ "$status" = 0 ] || { echo "check-build: the app exited with $status on SIGTERM" >&2; tail -n 20 "$work/run.log"; exit 1; }
    echo "check-build: the Dockerfile's build steps work ($(du -sh "$work/app" | cut -f1) app folder; /healthz 200; SIGTERM exit 0)"
    exit 0
  fi
  sleep 0.5
done
echo "check-build: the built app did not answer /healthz within 30 s" >&2
tail -n 20 "$work/run.log"
exit 1
