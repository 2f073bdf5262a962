// PostGraphile v5, the peer bench/run.py measures the nested list against.
// Library mode with the Amber preset over the `public` schema of $DATABASE_URL, GraphiQL and
// explain off, NODE_ENV=production; $WORKERS processes (node:cluster) share 127.0.0.1:$PORT,
// like uvicorn's workers. bench/peers.py copies this file next to its node_modules and runs it.
import cluster from "node:cluster";
import { createServer } from "node:http";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { postgraphile } from "postgraphile";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const port = Number(process.env.PORT);
const workers = Number(process.env.WORKERS || "1");

if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i += 1) cluster.fork();
  cluster.on("exit", (worker, code) => {
    if (code !== 0) process.exit(code ?? 1);
  });
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.kill(signal);
      process.exit(0);
    });
  }
} else {
  const preset = {
    extends: [PostGraphileAmberPreset],
    pgServices: [
      makePgService({ connectionString: process.env.DATABASE_URL, schemas: ["public"] }),
    ],
    grafserv: { port, host: "127.0.0.1", graphiql: false, watch: false, graphqlPath: "/graphql" },
    grafast: { explain: false },
  };
  const pgl = postgraphile(preset);
  const serv = pgl.createServ(grafserv);
  const server = createServer();
  server.on("error", (error) => {
    console.error(error);
    process.exit(1);
  });
  await serv.addTo(server);
  await pgl.getSchema(); // build the schema before the first request, not during it
  server.listen(port, "127.0.0.1");
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, async () => {
      server.close();
      await pgl.release();
      process.exit(0);
    });
  }
}
