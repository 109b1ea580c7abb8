# syntax=docker/dockerfile:1
# The companion service as an image: compiled to JavaScript, shipped without sources, production dependencies
# only, run by the non-root `node` user. test/production/compiled-service.test.ts runs the same steps (the
# ship script, the deps stage's npm ci, the CMD and the HEALTHCHECK), read from this file.
#   docker build -t stripe-dynamics365-connector .
#   docker run --env-file .env -p 3000:3000 -v connector-data:/app/data stripe-dynamics365-connector

# Build: every workspace's dev dependencies, the service compiled to service/dist, the console's pages to
# console/dist, the deployment copied to /app.
FROM node:20-bookworm AS build
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund
RUN npm run build -w @stc/service
# The operator console's pages, served at /console from console/dist.
RUN npm run -w @stc/console build
RUN node scripts/ship-service.js /app

# Production dependencies of the service only; better-sqlite3 compiles here (python3, make, g++ are in bookworm).
FROM node:20-bookworm AS deps
WORKDIR /app
COPY --from=build /app ./
RUN npm ci --omit=dev --workspace @stc/service --include-workspace-root=false --no-audit --no-fund

# Runtime: the compiled service and its node_modules, owned by root and read-only for the service's user;
# only /app/data (the default SQLite store, SQLITE_PATH=data/connector.db) is writable.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=3000
WORKDIR /app
COPY --from=deps /app ./
RUN mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((res) => process.exit(res.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself, stopping intake and draining the workers.
CMD ["node", "--enable-source-maps", "service/dist/main.js"]
