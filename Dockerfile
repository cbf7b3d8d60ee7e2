# syntax=docker/dockerfile:1
# MLBlocks: the playground app (the zero-shot classification block, @mlblocks/auth installed and
# off unless AUTH_ENABLED=true), production dependencies only, run as a non-root user.
#   docker build -t mlblocks .
#   docker run -p 3000:3000 -v mlblocks-data:/data mlblocks
# See docs/deployment.md (compose.yaml runs HAProxy in front of two instances with Postgres and Redis).

FROM node:20-bookworm-slim AS build
RUN npm install -g pnpm@12.4.2
WORKDIR /src
COPY . .
# The same script CI runs in a clean folder (deploy/check-build.sh).
RUN sh deploy/build.sh /app

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    LOG_FORMAT=json \
    MLBLOCKS_DATA_DIR=/data \
    MLBLOCKS_MODELS_DIR=/data/models
WORKDIR /app
COPY --from=build --chown=root:root /app /app
# Downloaded models and the embedded auth database live in the volume, owned by the app's user.
RUN mkdir -p /data/models && chown -R node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM finishes the requests in flight, closes the database, and exits 0.
STOPSIGNAL SIGTERM
CMD ["node", "node_modules/@mlblocks/core/dist/cli.js", "start"]
