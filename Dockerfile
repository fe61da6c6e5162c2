# One image for both Steward processes; docker-compose.yml picks `npm run worker` or `npm run api`.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY . .
USER node
CMD ["npm", "run", "api"]
