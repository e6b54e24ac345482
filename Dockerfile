# bambucam in a container (docs/docker.md). Put bambucam.yaml in the /data volume, or pass
# PRINTER_IP, ACCESS_CODE and SERIAL; with neither, the demo runs.
#   docker build -t bambucam .
#   docker run -d --name bambucam -p 8090:8090 -p 8554:8554 -p 6000:6000 -v bambucam-data:/data bambucam
# test/e2e/dockerfile-replay.test.ts replays this file without a container engine: every file a
# stage needs must come in through a COPY line below, and each RUN either works in a bare folder
# (npm, node) or is on that test's list of base-image steps.

# ---- build: dependencies, TypeScript → dist/, the web bundles; then only runtime dependencies ----
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No dependency install scripts: the lock file has every platform binary they would fetch, and the
# image uses Debian's ffmpeg, not ffmpeg-static's download. The layer is cached until the lock changes.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY web ./web
RUN npm run build
# The bundled fallback ffmpegs are for machines without one; this image has Debian's.
RUN npm prune --omit=dev --no-audit --no-fund && rm -rf node_modules/@ffmpeg-installer node_modules/ffmpeg-static

# ---- runtime: Node 24 LTS, Debian's ffmpeg (libx264, OpenSSL), a non-root user ----
FROM node:24-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg ca-certificates \
  && rm -rf /var/lib/apt/lists/*
# The volume's directory belongs to the user, so a fresh named volume is writable by it.
RUN useradd --system --uid 10090 --home-dir /data --shell /usr/sbin/nologin bambucam \
  && mkdir -p /data \
  && chown bambucam /data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config ./config
COPY web ./web
ENV NODE_ENV=production
# Two glibc malloc arenas instead of one per thread (libvips's, OpenSSL's): after a burst of resizes
# the soak's gateway gave memory back down to +12 MiB instead of keeping +47 MiB (docs/benchmarks.md).
ENV MALLOC_ARENA_MAX=2
# Debian's ffmpeg, whatever else is on the PATH.
ENV FFMPEG_PATH=/usr/bin/ffmpeg
# The CA and certificates of the native servers (docs/native-chamber.md) live in the volume.
ENV BAMBUCAM_DATA_DIR=/data
VOLUME /data
WORKDIR /data
USER bambucam
# 8090 HTTP (web page, snapshot, MJPEG, HLS, WHEP, API), 8554 RTSP, 6000 native chamber and 8883 the
# printer's MQTT re-served (6001, 8884, ... for further printers), 322 native RTSPS, and 8555/udp for
# WebRTC media (docs/webrtc.md: also set webrtc.candidates to the host's address).
EXPOSE 8090/tcp 8554/tcp 6000/tcp 322/tcp 8555/udp 8883/tcp
# BAMBUCAM_HTTP_PORT, when set, moves the HTTP port and this check with it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.BAMBUCAM_HTTP_PORT||8090)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "/app/dist/cli.js", "run"]
