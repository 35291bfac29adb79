# tickwork: one image for every role (feed, worker, sink, api, up); the command picks the role.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build:web
USER node
EXPOSE 8080
ENTRYPOINT ["node", "bin/tickwork.js"]
CMD ["up"]
