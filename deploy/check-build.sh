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

# As the image runs it: a user that does not own the app (root here: uid 65534, as the image's
# `node` user does not own /app), auth on with the embedded database in the data folder.
as_user=()
mkdir -p "$work/data"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
  chmod -R a+rX "$work/app"; chmod 755 "$work"
  chown 65534:65534 "$work/data"
  as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
secret=$(node -e "console.log(require('crypto').randomBytes(48).toString('base64'))")
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
(cd "$work/app" && exec "${as_user[@]}" env -i PATH="$PATH" HOME=/nonexistent NODE_ENV=production HOST=127.0.0.1 PORT="$port" LOG_FORMAT=json MLBLOCKS_OFFLINE=1 \
  AUTH_ENABLED=true AUTH_JWT_SECRET="$secret" MLBLOCKS_DATA_DIR="$work/data" MLBLOCKS_MODELS_DIR="$work/data/models" node "$cmd" start > "$work/run.log" 2>&1) &
pid=$!
for _ in $(seq 1 60); do
  # /healthz 200, and /blocks 401: auth (argon2, the embedded database) loaded from the production folder.
  if node -e "fetch('http://127.0.0.1:$port/healthz').then(async r=>{if(!r.ok)process.exit(1);const b=await fetch('http://127.0.0.1:$port/blocks');process.exit(b.status===401?0:2)},()=>process.exit(1))"; then
    kill -TERM "$pid"; wait "$pid" && status=0 || status=$?
    pid=
    [ "$status" = 0 ] || { echo "check-build: the app exited with $status on SIGTERM" >&2; tail -n 20 "$work/run.log"; exit 1; }
    echo "check-build: the Dockerfile's build steps work ($(du -sh "$work/app" | cut -f1) app folder; as ${as_user:+uid 65534, }/healthz 200, /blocks 401 with auth on; SIGTERM exit 0)"
    exit 0
  fi
  sleep 0.5
done
echo "check-build: the built app did not answer /healthz within 30 s" >&2
tail -n 20 "$work/run.log"
exit 1
