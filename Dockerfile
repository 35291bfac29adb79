# tickwork: one image for every role (feed, worker, sink, spread, api, migrate, up); the command
# picks the role. test/deploy/dockerfile.test.ts replays these steps (no Docker engine in CI).

# Build: all dependencies (TypeScript tooling, vite), then JavaScript in dist/ and the dashboard.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN sh scripts/build.sh && npm run --silent build:web

# Runtime: production dependencies only, compiled JavaScript, no compiler, not root.
FROM node:20-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production HTTP_HOST=0.0.0.0 HTTP_PORT=8080 LOG_FORMAT=json
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY migrations ./migrations
COPY bin ./bin
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
USER node
EXPOSE 8080
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["up"]
