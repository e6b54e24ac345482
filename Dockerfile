# bambucam in a container. Put bambucam.yaml in the /data volume (or pass PRINTER_IP, ACCESS_CODE,
# SERIAL); with neither, the demo runs.
#   docker build -t bambucam .
#   docker run -d --name bambucam -p 8090:8090 -p 8554:8554 -p 6000:6000 -v bambucam-data:/data bambucam
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
# The system ffmpeg (OpenSSL build, libx264) is bambucam's ffmpeg here; ffmpeg-static is optional.
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg ca-certificates \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
COPY web ./web
ENV NODE_ENV=production
# The CA and certificates of the native servers (docs/native-chamber.md) live in the volume.
ENV BAMBUCAM_DATA_DIR=/data
VOLUME /data
WORKDIR /data
# 8555/udp: WebRTC media for every viewer (docs/webrtc.md: also set webrtc.candidates to the host's address).
EXPOSE 8090 8554 6000 322 8555/udp
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+(process.env.BAMBUCAM_HTTP_PORT||8090)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "/app/dist/cli.js", "run"]
