// PostGraphile v5, the peer bench/run.py measures the API's read operations against.
// Library mode with the Amber preset over the `public` schema of $DATABASE_URL, GraphiQL and
// explain off, NODE_ENV=production; $WORKERS processes (node:cluster) share 127.0.0.1:$PORT,
// like uvicorn's workers. bench/peers.py copies this file next to its node_modules and runs it.
//
// What the operations need beyond the preset, each the usual PostGraphile way:
// - postgraphile-plugin-connection-filter: `filter` with ranges, `in` and `isNull`, which
//   `condition` cannot say (VenueSearchList's rate range, MyBookings' statuses and dates);
// - PgIndexBehaviorsPlugin off: it hides ordering and filtering by unindexed columns
//   (venues by name or hourly rate), which the API offers;
// - `Venue.latitude` and `longitude`: the API's computed fields, ST_Y/ST_X of the geography
//   point, selected inline (PostGraphile has no PostGIS support without a plugin);
// - a smart-tag foreign key from `audit_log.user_id` to `users`, for an event's actor (the
//   audit trail has no real foreign key, so that deleting a user keeps their history).
import cluster from "node:cluster";
import { createServer } from "node:http";
import { TYPES } from "postgraphile/@dataplan/pg";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { sql } from "postgraphile/pg-sql2";
import { postgraphile } from "postgraphile";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { extendSchema, gql, jsonPgSmartTags } from "postgraphile/utils";
import { PostGraphileConnectionFilterPreset } from "postgraphile-plugin-connection-filter";

const port = Number(process.env.PORT);
const workers = Number(process.env.WORKERS || "1");

function coordinate(axis) {
  return ($venue) =>
    $venue.select(sql`${axis}(${$venue.getClassStep().alias}.location::geometry)`, TYPES.float);
}

const VenueCoordinates = extendSchema({
  typeDefs: gql`
    extend type Venue {
      latitude: Float!
      longitude: Float!
    }
  `,
  objects: {
    Venue: {
      plans: {
        latitude: coordinate(sql`st_y`),
        longitude: coordinate(sql`st_x`),
      },
    },
  },
});

const AuditActor = jsonPgSmartTags({
  version: 1,
  config: {
    class: {
      audit_log: { tags: { foreignKey: "(user_id) references users (id)|@fieldName actor" } },
    },
  },
});

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
    extends: [PostGraphileAmberPreset, PostGraphileConnectionFilterPreset],
    plugins: [VenueCoordinates, AuditActor],
    disablePlugins: ["PgIndexBehaviorsPlugin"],
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
